"""Moderation: /hide /unhide /ban /unban /scope, and who may use them.

Who is a moderator is decided in ``bot.permissions``; ``bot.commands`` lets only
moderators reach these handlers. A group's admins moderate what was posted in
their group, and their bans keep a user from commenting there; a ban by ADMIN_IDS
holds everywhere.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import keyboards
from bot.context import NewsContext
from bot.handlers.common import (
    argument_text,
    chat_id_of,
    in_group,
    parse_chat_id,
    parse_int,
    reply,
)
from bot.identity import author_of, author_of_message
from bot.permissions import Role, may_be_banned, role_of
from storage import channels as channel_store
from storage.models import Comment, CommentStatus


def _within_reach(role: Role, comment: Comment, chat_id: int | None) -> bool:
    return role == "global" or comment.chat_id == chat_id


async def _set_status(
    update: Update, context: NewsContext, status: CommentStatus, action: str
) -> None:
    role = await role_of(update, context)
    user = author_of(update)
    if role is None or user is None:  # the registry lets moderators only this far
        return
    comment_id = parse_int(argument_text(update))
    if comment_id is None:
        await reply(update, f"Usage: /{action} CID, e.g. /{action} 3")
        return
    comment = await context.store.comment(comment_id)
    chat_id = chat_id_of(update)
    if comment is None or not _within_reach(role, comment, chat_id):
        await reply(update, f"No comment #{comment_id} that you can moderate here.")
        return
    if comment.status == "deleted":
        await reply(update, f"Comment #{comment_id} was deleted by its author.")
        return
    if comment.status == status:
        await reply(update, f"Comment #{comment_id} is already {status}.")
        return
    await context.store.set_comment_status(comment_id, status)
    await context.store.record_moderation(user.id, action, comment_id=comment_id, chat_id=chat_id)
    await reply(
        update, f"Comment #{comment_id} is now {'hidden' if action == 'hide' else 'shown'}."
    )


async def hide_comment(update: Update, context: NewsContext) -> None:
    """``/hide CID``: hide a comment from everyone (its replies stay)."""
    await _set_status(update, context, "hidden", "hide")


async def unhide_comment(update: Update, context: NewsContext) -> None:
    """``/unhide CID``: show a hidden comment again."""
    await _set_status(update, context, "visible", "unhide")


async def _ban_target(update: Update, context: NewsContext) -> tuple[int, str] | None:
    """The user a /ban or /unban is about: an id argument, or the author of what it replies to."""
    raw = argument_text(update)
    if raw:
        user_id = parse_chat_id(raw)  # a channel's id is negative
        return (user_id, "") if user_id is not None else None
    message = update.effective_message
    replied = message.reply_to_message if message else None
    author = author_of_message(replied) if replied is not None else None
    if replied is None or author is None:
        return None
    if author.id == context.bot.id:
        # A reply to the bot's comment confirmation: the comment's author.
        target = keyboards.reply_target(replied.reply_markup)
        if target is None or target.action != keyboards.REPLY:
            return None
        comment = await context.store.comment(target.args[0])
        if comment is None or comment.user_id is None:
            return None
        return comment.user_id, comment.author
    return author.id, author.name


async def _set_ban(update: Update, context: NewsContext, banned: bool) -> None:
    action = "ban" if banned else "unban"
    role = await role_of(update, context)
    actor = author_of(update)
    if role is None or actor is None:  # the registry lets moderators only this far
        return
    target = await _ban_target(update, context)
    if target is None:
        await reply(
            update,
            f"Usage: reply /{action} to a message of the user, or /{action} USER_ID.",
        )
        return
    user_id, name = target
    chat = update.effective_chat
    # ADMIN_IDS ban everywhere; a group's admins ban in their group only.
    group_id = chat.id if role == "group" and chat is not None else None
    if banned and (user_id == actor.id or not await may_be_banned(context, user_id, group_id)):
        await reply(update, "Moderators cannot be banned.")
        return
    await context.store.set_banned(user_id, banned, name, chat_id=group_id)
    if not banned and role == "global" and in_group(update) and chat is not None:
        await context.store.set_banned(user_id, False, chat_id=chat.id)  # and here, too
    await context.store.record_moderation(
        actor.id, action, user_id=user_id, chat_id=chat_id_of(update)
    )
    here = " in this group" if group_id is not None else ""
    if banned:
        await reply(update, f"User {user_id} is banned from commenting{here}.")
        return
    answer = f"User {user_id} is allowed to comment{here} again."
    if group_id is not None and await context.store.ban_of(user_id, None) == "everywhere":
        answer += " They are still banned everywhere by the bot's moderators."
    await reply(update, answer)


async def ban_user(update: Update, context: NewsContext) -> None:
    """``/ban`` as a reply, or ``/ban USER_ID``: refuse that user's comments."""
    await _set_ban(update, context, True)


async def unban_user(update: Update, context: NewsContext) -> None:
    """``/unban USER_ID`` (or as a reply): accept that user's comments again."""
    await _set_ban(update, context, False)


async def set_scope(update: Update, context: NewsContext) -> None:
    """``/scope public|group``: whether this group's new comments are seen everywhere."""
    chat = update.effective_chat
    actor = author_of(update)
    if chat is None or actor is None or not in_group(update):
        await reply(update, "/scope works in groups: it sets who sees the group's comments.")
        return
    choice = argument_text(update).lower()
    if choice not in ("public", "group"):
        stored = await context.store.save_chat(chat.id, chat.type, chat.title)
        scope = await channel_store.discussion_scope(context.store, chat.id) or stored.scope
        await reply(
            update,
            f"This group's comments are {_scope_words(scope)}. "
            "Usage: /scope public or /scope group.",
        )
        return
    await context.store.save_chat(chat.id, chat.type, chat.title)
    await context.store.set_scope(chat.id, "public" if choice == "public" else "group")
    await context.store.record_moderation(actor.id, f"scope_{choice}", chat_id=chat.id)
    await reply(update, f"From now on, comments posted here are {_scope_words(choice)}.")


def _scope_words(scope: Any) -> str:
    return "public: every chat sees them" if scope == "public" else "seen in this group only"
