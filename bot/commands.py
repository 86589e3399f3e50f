"""The command registry: every command once, feeding its handler, the menus and /help.

A command is added here and nowhere else: ``bot.handlers.register`` adds a
``CommandHandler`` for each entry (behind the check of who may use it), the
command menus are built from the entries, and so is ``/help``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from functools import wraps
from typing import Any

from telegram import BotCommand, Update

from bot import render
from bot.context import NewsContext
from bot.handlers import articles, channels, comments, moderation, subscriptions
from bot.handlers.common import reply
from bot.permissions import may_change_chat, role_of

Callback = Callable[[Update, NewsContext], Coroutine[Any, Any, None]]


class Who(Enum):
    """Who may use a command; the answer to anyone else."""

    ANYONE = ""
    MODERATOR = "Only moderators can do that."
    BOT_MODERATOR = "Only the bot's own moderators (ADMIN_IDS) can do that."
    CHAT_ADMIN = "Only the group's admins can change this chat's settings."


@dataclass(frozen=True, slots=True)
class Command:
    """A command: its name, arguments, what it does, an example, its callback, who may."""

    name: str
    args: str
    does: str
    example: str
    callback: Callback
    who: Who = Who.ANYONE
    moderation: bool = False  # listed under Moderators, and in the groups' menu only

    @property
    def usage(self) -> str:
        """``/name ARGS``, as /help shows it."""
        return f"/{self.name} {self.args}".rstrip()


async def show_help(update: Update, context: NewsContext) -> None:
    """List every command with an example."""
    await reply(update, help_text())


COMMANDS: tuple[Command, ...] = (
    Command("start", "", "welcome, or open an article from a link", "/start", articles.start),
    Command("help", "", "what the bot does, with examples", "/help", show_help),
    Command("latest", "[N]", "the newest articles", "/latest 5", articles.latest),
    Command(
        "article",
        "ID_OR_SLUG",
        "an article's card with its buttons",
        "/article 1",
        articles.show_article,
    ),
    Command("summary", "ID", "an article's summary", "/summary 1", articles.show_summary),
    Command(
        "timeline",
        "ID_OR_TOPIC",
        "dated events of an article or a topic",
        "/timeline china",
        articles.show_timeline,
    ),
    Command(
        "comments",
        "ID [PAGE]",
        "read an article's comments",
        "/comments 1 2",
        comments.show_comments,
    ),
    Command(
        "comment",
        "ID TEXT",
        "post a comment",
        "/comment 1 Well reported.",
        comments.comment_command,
    ),
    Command(
        "reply", "CID TEXT", "reply to a comment", "/reply 3 I agree.", comments.reply_command
    ),
    Command("delete", "CID", "delete your own comment", "/delete 3", comments.delete_comment),
    Command(
        "search",
        "WORDS",
        "search articles and comments",
        "/search missile drills",
        articles.search,
    ),
    Command(
        "subscribe",
        "",
        "get new articles in this chat",
        "/subscribe",
        subscriptions.subscribe,
        Who.CHAT_ADMIN,
    ),
    Command(
        "unsubscribe",
        "",
        "stop getting new articles",
        "/unsubscribe",
        subscriptions.unsubscribe,
        Who.CHAT_ADMIN,
    ),
    Command("cancel", "", "stop writing a comment", "/cancel", comments.cancel),
    # Moderation, for the ids in ADMIN_IDS anywhere and a group's admins in their group.
    Command(
        "hide",
        "CID",
        "hide a comment",
        "/hide 3",
        moderation.hide_comment,
        Who.MODERATOR,
        moderation=True,
    ),
    Command(
        "unhide",
        "CID",
        "show a hidden comment again",
        "/unhide 3",
        moderation.unhide_comment,
        Who.MODERATOR,
        moderation=True,
    ),
    Command(
        "ban",
        "[USER_ID]",
        "ban a user from commenting (reply to them)",
        "/ban 12345",
        moderation.ban_user,
        Who.MODERATOR,
        moderation=True,
    ),
    Command(
        "unban",
        "USER_ID",
        "let a banned user comment again",
        "/unban 12345",
        moderation.unban_user,
        Who.MODERATOR,
        moderation=True,
    ),
    Command(
        "scope",
        "public|group",
        "who sees this group's new comments",
        "/scope public",
        moderation.set_scope,
        Who.CHAT_ADMIN,
        moderation=True,
    ),
    Command(
        "connect",
        "@CHANNEL",
        "publish new articles in a channel the bot administers",
        "/connect @dailynews",
        channels.connect,
        Who.BOT_MODERATOR,
        moderation=True,
    ),
    Command(
        "disconnect",
        "@CHANNEL",
        "stop publishing in a channel",
        "/disconnect @dailynews",
        channels.disconnect,
        Who.BOT_MODERATOR,
        moderation=True,
    ),
)


def help_text() -> str:
    """Every command with its arguments and an example, moderation last."""
    lines = [
        "<b>newsbot</b> serves the news desk's articles: each one's summary, the timeline "
        "of the events it reports, and its comment section.",
        "",
    ]
    for command in COMMANDS:
        if command.moderation and "<b>Moderators</b>" not in lines:
            lines += ["", "<b>Moderators</b>"]
        lines.append(
            f"{render.esc(command.usage)} — {command.does}. "
            f"<code>{render.esc(command.example)}</code>"
        )
    lines += [
        "",
        "You can also reply to an article card or a comment to comment on it, and type "
        "@ and the bot's name in any chat to share an article.",
    ]
    return "\n".join(lines)


def command_menus() -> tuple[list[BotCommand], list[BotCommand]]:
    """The command menus: one for private chats, one for groups (with moderation)."""
    private = [BotCommand(c.name, c.does) for c in COMMANDS if not c.moderation]
    group = private + [BotCommand(c.name, c.does) for c in COMMANDS if c.moderation]
    return private, group


def guarded(command: Command) -> Callback:
    """The command's callback behind the check of who may use it."""
    if command.who is Who.ANYONE:
        return command.callback

    @wraps(command.callback)
    async def callback(update: Update, context: NewsContext) -> None:
        if command.who is Who.MODERATOR:
            allowed = await role_of(update, context) is not None
        elif command.who is Who.BOT_MODERATOR:
            allowed = await role_of(update, context) == "global"
        else:
            allowed = await may_change_chat(update, context)
        if not allowed:
            await reply(update, command.who.value)
            return
        await command.callback(update, context)

    return callback
