"""Comment sections: reading them, and posting, replying, editing and deleting through the chat.

Ways to comment, all ending in ``post_comment``:

* ``/comment ID TEXT`` and ``/reply CID TEXT``;
* the Comment (or Reply) button, which asks with a ForceReply prompt and takes
  the next message from that user in that chat (``/cancel`` stops it, and it
  lapses after ``PROMPT_TIMEOUT`` seconds);
* a reply to the bot's article card, or to a message that shows one comment.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from telegram import ForceReply, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

from bot import keyboards, render
from bot.context import NewsContext
from bot.handlers.common import (
    ARTICLE_GONE,
    argument_text,
    chat_id_of,
    edit_or_ignore,
    find_article,
    forwarded_post,
    in_group,
    no_article,
    parse_int,
    pressed,
    reply,
)
from bot.identity import author_of
from bot.outbox import answer_once, owed_answer
from storage import channels as channel_store
from storage import queues, visibility
from storage.clock import utc_now
from storage.commenting import Reason, Refusal, check_edit, check_new, check_text
from storage.errors import NotFound
from storage.models import Comment, Visibility
from storage.text import clean_body

WAITING_FOR_COMMENT = "waiting_for_comment"
PROMPT_TIMEOUT = 10 * 60
BANNED_EVERYWHERE = "You are banned from commenting."
BANNED_HERE = "You are banned from commenting in this group."
_COMMAND_PREFIX = re.compile(r"^/(comment|reply)(@\w+)?\s+\S+\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Pending:
    """A Comment or Reply button was pressed: the next message from the user is the text."""

    article_id: int
    parent_id: int | None
    since: float
    author_id: int  # who asked: channels share one Telegram user, so its data too


def _pending(context: NewsContext) -> dict[int, Pending]:
    user_data: dict[Any, Any] = context.user_data if context.user_data is not None else {}
    waiting: dict[int, Pending] = user_data.setdefault(WAITING_FOR_COMMENT, {})
    return waiting


def _take_pending(update: Update, context: NewsContext) -> Pending | None:
    """The comment the sender is asked for in this chat, no longer awaited."""
    chat_id, author = chat_id_of(update), author_of(update)
    waiting = _pending(context)
    if chat_id is None or author is None:
        return None
    pending = waiting.get(chat_id)
    if pending is None or pending.author_id != author.id:
        return None
    return waiting.pop(chat_id)


def _visibility_for(update: Update, scope: str) -> Visibility:
    """Group comments stay in their group unless the group chose public; others are public."""
    if in_group(update) and scope != "public":
        return "group"
    return "public"


# ---------------------------------------------------------------------- reading


async def send_comment_page(
    update: Update, context: NewsContext, article_id: int, page: int, *, edit: bool = False
) -> None:
    """Show a page of comments; from Prev / Next, edit the pressed message in place."""
    query = update.callback_query
    try:
        result = await context.store.comment_page(article_id, page, chat_id_of(update))
    except NotFound:
        await no_article(update, article_id)
        return
    parts = render.comments_text(result, asked=page)
    markup = keyboards.page_buttons(article_id, result.page, result.pages)
    if query:
        await query.answer()
    if edit and query and len(parts) == 1:
        await edit_or_ignore(update, parts[0], markup)
    else:
        await reply(update, parts, markup)


async def press_comments(update: Update, context: NewsContext) -> None:
    """Comments (N) under a card sends a page; Prev / Next turn the page in place."""
    if data := await pressed(update):
        edit = data.action == keyboards.PAGE
        await send_comment_page(update, context, data.args[0], data.args[1], edit=edit)


async def show_comments(update: Update, context: NewsContext) -> None:
    """``/comments ID [PAGE]``: a page of an article's comments, replies under parents."""
    args = context.args or []
    if not args or len(args) > 2:
        await reply(update, "Usage: /comments ID [PAGE], e.g. /comments 1 2")
        return
    # An id goes straight to the page (one query fewer); a slug is looked up first.
    article_id = parse_int(args[0])
    if article_id is None:
        article = await find_article(update, context, args[0])
        if article is None:
            await no_article(update, args[0])
            return
        article_id = article.id
    page = 1
    if len(args) == 2:
        parsed = parse_int(args[1])
        if parsed is None:
            await reply(update, "The page must be a number, e.g. /comments 1 2")
            return
        page = parsed
    await send_comment_page(update, context, article_id, page)


# ---------------------------------------------------------------------- writing


async def comment_command(update: Update, context: NewsContext) -> None:
    """``/comment ID TEXT`` posts a comment; ``/comment ID`` asks for the text."""
    raw = argument_text(update)
    target, _, text = raw.partition(" ") if " " in raw else (raw, "", "")
    if "\n" in target:
        target, _, rest = target.partition("\n")
        text = rest + (" " + text if text else "")
    if not target:
        await reply(update, "Usage: /comment ID TEXT, e.g. /comment 1 Well reported.")
        return
    # An id goes straight to the write, which finds the article; a slug is looked up first.
    article_id = parse_int(target) if text.strip() else None
    if article_id is None:
        article = await find_article(update, context, target)
        if article is None:
            await no_article(update, target)
            return
        if not text.strip():
            await ask_for_comment(update, context, article.id)
            return
        article_id = article.id
    await post_comment(update, context, article_id, None, text, asked=target)


async def reply_command(update: Update, context: NewsContext) -> None:
    """``/reply CID TEXT`` answers a comment; the reply is threaded under it."""
    raw = argument_text(update)
    target, _, text = raw.partition(" ")
    if "\n" in target:
        target, _, rest = target.partition("\n")
        text = rest + (" " + text if text else "")
    comment_id = parse_int(target)
    if comment_id is None:
        await reply(update, "Usage: /reply CID TEXT, e.g. /reply 3 I agree.")
        return
    parent = await _readable_comment(update, context, comment_id)
    if parent is None:
        return
    if not text.strip():
        await ask_for_comment(update, context, parent.article_id, parent_id=parent.id)
        return
    await post_comment(update, context, parent.article_id, parent.id, text)


async def _readable_comment(
    update: Update, context: NewsContext, comment_id: int
) -> Comment | None:
    """A comment this chat may see, or a reply saying there is none (to a press, an answer)."""
    comment = await context.store.comment(comment_id)
    if comment is None or not context.store.visible_in(comment, chat_id_of(update)):
        if update.callback_query is not None:
            await update.callback_query.answer("That comment is no longer available.")
        else:
            await reply(
                update, f"No comment #{comment_id} here. Comment ids are shown in /comments."
            )
        return None
    return comment


async def ask_for_comment(
    update: Update, context: NewsContext, article_id: int, parent_id: int | None = None
) -> None:
    """Ask for the comment's text with a ForceReply prompt and wait for the next message."""
    query = update.callback_query
    chat = update.effective_chat
    author = author_of(update)
    title = await context.store.article_title(article_id)
    if title is None or chat is None or author is None:
        if query:
            await query.answer(ARTICLE_GONE)
        return
    if query:
        await query.answer()
    _pending(context)[chat.id] = Pending(article_id, parent_id, context.now(), author.id)
    what = f"a reply to comment #{parent_id}" if parent_id else "your comment"
    ask = f"send {what} on “{render.title_in_text(title)}” as your next message. /cancel stops."
    if author.is_chat:  # a channel or an anonymous admin: no user to mention
        ask = f"{render.esc(author.name)}, {ask}"
    elif chat.type != ChatType.PRIVATE:
        # ForceReply with selective=True reaches only users mentioned in the prompt.
        ask = f'<a href="tg://user?id={author.id}">{render.esc(author.name)}</a>, {ask}'
    else:
        ask = ask[0].upper() + ask[1:]
    await reply(
        update,
        ask,
        ForceReply(selective=True, input_field_placeholder="Your comment"),  # type: ignore[arg-type]
    )


async def ask_for_reply(update: Update, context: NewsContext, comment_id: int) -> None:
    """The Reply button under a comment: ask for the reply's text, as /reply CID does."""
    parent = await _readable_comment(update, context, comment_id)
    if parent is not None:
        await ask_for_comment(update, context, parent.article_id, parent_id=parent.id)


async def press_comment(update: Update, context: NewsContext) -> None:
    """The Comment button of a card: ask for the comment's text."""
    if data := await pressed(update):
        await ask_for_comment(update, context, data.args[0])


async def press_reply(update: Update, context: NewsContext) -> None:
    """The Reply button under a comment: ask for the reply's text."""
    if data := await pressed(update):
        await ask_for_reply(update, context, comment_id=data.args[0])


async def cancel(update: Update, context: NewsContext) -> None:
    """``/cancel``: stop waiting for a comment's text."""
    if _take_pending(update, context) is not None:
        await reply(update, "Cancelled: nothing was posted.")
    else:
        await reply(update, "Nothing to cancel.")


async def on_text(update: Update, context: NewsContext) -> None:
    """A plain message: the awaited comment, a reply to a card or comment, or a hint."""
    message = update.message
    chat = update.effective_chat
    if message is None or chat is None or message.text is None:
        return
    target = _reply_target(message, context.bot.id)
    if target is not None:
        _take_pending(update, context)
        if target.action == keyboards.WRITE:
            await post_comment(update, context, target.args[0], None, message.text)
        else:
            parent = await _readable_comment(update, context, target.args[0])
            if parent is not None:
                await post_comment(update, context, parent.article_id, parent.id, message.text)
        return
    discussion = None
    if chat.type == ChatType.SUPERGROUP:
        discussion = await _discussion_target(message, context)
    # In a card's discussion thread, only an answer to the bot (its prompt) is awaited text.
    awaited = discussion is None or _replies_to_bot(message, context.bot.id)
    pending = _take_pending(update, context) if awaited else None
    if pending is not None and context.now() - pending.since <= PROMPT_TIMEOUT:
        await post_comment(update, context, pending.article_id, pending.parent_id, message.text)
        return
    if discussion is not None:
        article_id, parent_id = discussion
        await post_comment(update, context, article_id, parent_id, message.text, quiet=True)
        return
    if pending is not None:
        if chat.type == ChatType.PRIVATE or _replies_to_bot(message, context.bot.id):
            await reply(
                update,
                "The wait for your comment ran out after 10 minutes, so nothing was posted. "
                "Press Comment again to write one.",
            )
        return
    if chat.type == ChatType.PRIVATE:
        # post_comment knows a redelivered comment; this hint must look for itself.
        if await context.store.comment_by_message(chat.id, message.message_id) is not None:
            return
        await reply(
            update,
            "To comment, press Comment under an article, reply to an article card, or send "
            "/comment ID TEXT. /help lists everything.",
        )


async def _discussion_target(
    message: Message, context: NewsContext
) -> tuple[int, int | None] | None:
    """(article, parent comment) of a reply in a channel card's discussion thread, or None."""
    replied = message.reply_to_message
    thread = None if message.is_topic_message else message.message_thread_id
    if thread is None and replied is not None and replied.is_automatic_forward:
        thread = replied.message_id
    if thread is None:
        return None
    article_id = await channel_store.article_of_thread(context.store, message.chat_id, thread)
    post = forwarded_post(replied) if replied is not None else None
    if article_id is None and post is not None and replied is not None:
        # The forward never reached the bot (it was no admin here yet): a reply to it tells.
        article_id = await channel_store.open_thread(
            context.store, message.chat_id, replied.message_id, *post
        )
    if article_id is None:
        return None
    parent = None
    if replied is not None and replied.message_id != thread:
        comment = await context.store.comment_by_message(message.chat_id, replied.message_id)
        if comment is not None and comment.article_id == article_id:
            parent = comment.id
    return article_id, parent


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def _reply_target(message: Message, bot_id: int) -> keyboards.ButtonData | None:
    """The article or comment a reply to one of the bot's messages is about."""
    if not _replies_to_bot(message, bot_id):
        return None
    assert message.reply_to_message is not None
    return keyboards.reply_target(message.reply_to_message.reply_markup)


def refusal_text(refusal: Refusal) -> str:
    """A refused new comment, in words."""
    match refusal.reason:
        case Reason.EMPTY:
            return "An empty comment was not posted. Write some text."
        case Reason.TOO_LONG:
            return (
                f"Your comment is {refusal.length} characters; the limit is "
                f"{refusal.limit}. Shorten it and send it again."
            )
        case Reason.BANNED_EVERYWHERE:
            return BANNED_EVERYWHERE
        case Reason.BANNED_HERE:
            return BANNED_HERE
        case Reason.TOO_FAST:
            return f"Slow down: at most {refusal.limit} comments a minute. Try again in a minute."
        case Reason.DUPLICATE:
            return "You just posted that same comment here."


def edit_refusal_text(comment_id: int, refusal: Refusal) -> str:
    """A refused edit, in words."""
    match refusal.reason:
        case Reason.EMPTY:
            return f"Comment #{comment_id} was not changed: it cannot be empty."
        case Reason.TOO_LONG:
            return (
                f"Comment #{comment_id} was not changed: the limit is {refusal.limit} characters."
            )
        case Reason.BANNED_EVERYWHERE:
            return f"Comment #{comment_id} was not changed. {BANNED_EVERYWHERE}"
        case _:
            return f"Comment #{comment_id} was not changed. {BANNED_HERE}"


async def post_comment(
    update: Update,
    context: NewsContext,
    article_id: int,
    parent_id: int | None,
    text: str,
    *,
    quiet: bool = False,
    asked: str | None = None,
) -> None:
    """Check, store and confirm a comment; the store commits before the confirmation.

    The checks, the comment and the claim of its confirmation are one write.
    ``quiet``: a reply in a channel's discussion is its own record there; it gets
    an answer only when it is refused. ``asked``: how the reader named the article
    (the reply names it back if there is none); otherwise it is one that has gone.
    """
    message = update.effective_message
    chat = update.effective_chat
    author = author_of(update)
    if message is None or chat is None or author is None:
        return
    # What needs no write is answered without one (another program may hold the lock).
    if await context.store.article_title(article_id) is None:
        await _no_such_article(update, asked)
        return
    body = clean_body(text)
    limits, now = context.settings.comment_limits, context.now()
    refusal = check_text(body, limits)
    if refusal is not None:
        await _refuse(update, refusal, article_id, parent_id, quiet)
        return

    def check(conn: Connection) -> Refusal | None:
        return check_new(
            conn,
            limits,
            user_id=author.id,
            chat_id=chat.id,
            article_id=article_id,
            body=body,
            now=now,
        )

    scope = "group"
    if in_group(update):
        known = await context.store.chat(chat.id)
        # A channel's discussion group is as public as the channel, unless its admins chose.
        discussion = await channel_store.discussion_scope(context.store, chat.id)
        scope = discussion or (known.scope if known is not None else "group")
    # Its author, its chat, the comment itself and the claim of its confirmation: one write.
    owed: list[tuple[str, str, InlineKeyboardMarkup, int | None]] = []

    worker = context.store.worker_id  # it sends the confirmation: no other worker settles it

    def claim_confirmation(conn: Connection, comment: Comment, title: str) -> None:
        key, text, markup = _confirmation(comment, title)
        payload = owed_answer(update, text, markup)
        claimed = queues.claim_in(conn, chat.id, key, payload, time.time(), worker)
        owed.append((key, text, markup, claimed))

    posting = await context.store.post_comment(
        article_id=article_id,
        parent_id=parent_id,
        body=body,
        author=author.name,
        user_id=author.id,
        chat=(chat.type, chat.title) if in_group(update) else None,
        chat_id=chat.id,
        message_id=message.message_id,
        visibility=_visibility_for(update, scope),
        now=utc_now(now),
        check=check,
        then=None if quiet else claim_confirmation,
    )
    if posting.title is None:  # gone since it was looked up
        await _no_such_article(update, asked)
    elif posting.refusal is not None:
        await _refuse(update, posting.refusal, article_id, parent_id, quiet)
    elif owed:
        key, text, markup, claimed = owed[-1]  # the work may have run more than once
        if claimed is not None:
            await answer_once(update, context, key, text, markup, claimed=claimed)
    elif posting.comment is not None and not quiet:  # stored by an earlier handling
        await _confirm(update, context, posting.comment, posting.title)


async def _no_such_article(update: Update, asked: str | None) -> None:
    """The article named (``asked``) does not exist, or the one written about has gone."""
    if asked is not None:
        await no_article(update, asked)
    else:
        await reply(update, ARTICLE_GONE)


async def _refuse(
    update: Update, refusal: Refusal, article_id: int, parent_id: int | None, quiet: bool
) -> None:
    """Say why a comment was not posted; where writing it again can help, a button for it.

    Written again as a reply to the refusal, the comment goes where this one went
    (in a discussion thread, the thread already says where).
    """
    again = refusal.reason in (Reason.EMPTY, Reason.TOO_LONG, Reason.TOO_FAST)
    markup = keyboards.retry_button(article_id, parent_id) if again and not quiet else None
    await reply(update, refusal_text(refusal), markup)


def _confirmation(comment: Comment, title: str) -> tuple[str, str, InlineKeyboardMarkup]:
    """A stored comment's confirmation: its outbox key, its text and its buttons."""
    parent_id = comment.parent_id
    what = f"Reply #{comment.id} to #{parent_id}" if parent_id else f"Comment #{comment.id}"
    where = "" if visibility.seen_everywhere(comment) else " (visible in this group only)"
    return (
        f"comment:{comment.id}",
        f"✅ {what} posted on “{render.title_in_text(title)}”{where}.",
        keyboards.comment_buttons(comment.article_id, comment.id),
    )


async def _confirm(update: Update, context: NewsContext, comment: Comment, title: str) -> None:
    """Confirm a stored comment once, however often its update is handled."""
    await answer_once(update, context, *_confirmation(comment, title))


async def on_edit(update: Update, context: NewsContext) -> None:
    """Editing the Telegram message a comment came from edits the comment."""
    message = update.edited_message
    author = author_of(update)
    if message is None or author is None or message.text is None:
        return
    comment = await context.store.comment_by_message(message.chat_id, message.message_id)
    if comment is None or comment.user_id != author.id or comment.status != "visible":
        return
    body = clean_body(_COMMAND_PREFIX.sub("", message.text, count=1))
    if body == comment.body:
        return
    refusal = await check_edit(
        context.store,
        context.settings.comment_limits,
        comment=comment,
        chat_id=message.chat_id,
        body=body,
    )
    if refusal is not None:
        await reply(update, edit_refusal_text(comment.id, refusal))
        return
    await context.store.edit_comment(comment.id, body, now=utc_now(context.now()))
    if await _discussion_target(message, context) is None:  # a discussion shows the edit
        await reply(update, f"✏️ Comment #{comment.id} updated.")


async def delete_comment(update: Update, context: NewsContext) -> None:
    """``/delete CID``, or ``/delete`` as a reply to one's comment: the author deletes it.

    Replies stay, under a placeholder. A comment from a channel's discussion is
    shown no id there; the reply names it (Telegram tells no bot of a deleted message).
    """
    author = author_of(update)
    raw = argument_text(update)
    comment_id = parse_int(raw) if raw else await _replied_comment(update, context)
    if comment_id is None or author is None:
        await reply(
            update,
            "Usage: /delete CID, e.g. /delete 3, or /delete in reply to your comment "
            "(your own comments only).",
        )
        return
    comment = await context.store.comment(comment_id)
    if comment is None or not context.store.visible_in(comment, chat_id_of(update)):
        await reply(update, f"No comment #{comment_id} here.")
        return
    if comment.user_id != author.id:
        await reply(update, f"Comment #{comment_id} is not yours; you can delete only your own.")
        return
    await context.store.set_comment_status(comment.id, "deleted")
    await reply(update, f"🗑 Comment #{comment_id} deleted.")


async def _replied_comment(update: Update, context: NewsContext) -> int | None:
    """The comment the command replies to: its message, or the bot's message showing it."""
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    if message is None or replied is None:
        return None
    if _replies_to_bot(message, context.bot.id):
        target = keyboards.reply_target(replied.reply_markup)
        return target.args[0] if target is not None and target.action == keyboards.REPLY else None
    comment = await context.store.comment_by_message(replied.chat_id, replied.message_id)
    return comment.id if comment is not None else None
