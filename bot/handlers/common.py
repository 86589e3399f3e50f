"""Small helpers the handlers share: replying in the right place, reading arguments."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, MessageOriginChannel, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot import keyboards, render
from bot.context import NewsContext
from storage.models import Article

ReplyMarkup = InlineKeyboardMarkup | None


async def reply(
    update: Update,
    parts: str | Sequence[str],
    reply_markup: ReplyMarkup = None,
    *,
    quote: bool | None = None,
) -> Message | None:
    """Send one or more messages where the update came from; buttons go on the last one.

    In a forum topic the reply stays in the topic; after a button press the
    answer is a new message under the one that was pressed.
    """
    message = update.effective_message
    if message is None:
        return None
    if isinstance(parts, str):
        parts = [parts]
    if update.callback_query is not None:
        quote = False
    sent = None
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        sent = await message.reply_text(
            part,
            reply_markup=reply_markup if last else None,
            do_quote=quote if n == 0 else False,
        )
    return sent


def argument_text(update: Update) -> str:
    """Everything after the command word, with its line breaks kept."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def chat_id_of(update: Update) -> int | None:
    """The chat whose view of the comments applies."""
    return update.effective_chat.id if update.effective_chat else None


def in_group(update: Update) -> bool:
    """Whether the update comes from a group or supergroup."""
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def parse_int(text: str, *, low: int = 1, high: int = 2**62) -> int | None:
    """A whole number in range, or None."""
    text = text.strip().lstrip("#")
    if not text.isdecimal() or len(text) > 18:
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_chat_id(text: str) -> int | None:
    """A user's or chat's id as typed: a whole number, negative for a group or a channel."""
    text = text.strip()
    value = parse_int(text.removeprefix("-"), high=10**15)
    if value is None:
        return None
    return -value if text.startswith("-") else value


def forwarded_post(message: Message) -> tuple[int, int] | None:
    """(channel, post) of a channel post's automatic forward into its discussion group.

    Only the linked channel's own post: one it reposted from another channel is
    forwarded naming that channel's post, but it is no thread of that channel's.
    """
    origin = message.forward_origin
    if not message.is_automatic_forward or not isinstance(origin, MessageOriginChannel):
        return None
    if message.sender_chat is None or message.sender_chat.id != origin.chat.id:
        return None
    return origin.chat.id, origin.message_id


async def find_article(update: Update, context: NewsContext, id_or_slug: str) -> Article | None:
    """An article by id or slug (ignoring a leading #), with the comments this chat sees."""
    return await context.store.find_article(id_or_slug.strip().lstrip("#"), chat_id_of(update))


async def pressed(update: Update) -> keyboards.ButtonData | None:
    """The decoded button press; a button that is not (or no longer) ours is answered here."""
    query = update.callback_query
    if query is None:
        return None
    data = keyboards.decode(query.data)
    if data is None:
        await query.answer("This button is no longer valid.")
    return data


async def stale_button(update: Update, context: NewsContext) -> None:
    """A press no button handler took: an old or forged button gets a short answer."""
    await pressed(update)


ARTICLE_GONE = "That article is no longer available."


async def no_article(update: Update, wanted: str | int) -> None:
    """Say there is no such article: an answer to a press, else a reply naming what was asked."""
    if update.callback_query is not None:
        await update.callback_query.answer(ARTICLE_GONE)
        return
    shown = render.esc(str(wanted)[:64])
    await reply(update, f"No article “{shown}”. Find one with /latest or /search.")


async def edit_or_ignore(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    """Edit the pressed message in place; pressing the page it shows changes nothing."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise
