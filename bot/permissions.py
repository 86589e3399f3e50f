"""Who may do what: moderators everywhere, admins of this group, who may change a chat.

Moderators are the ids in ADMIN_IDS, everywhere, and a group's own admins in
that group (also when they post anonymously, as the group itself). A group's
admins are asked with getChatMember; a "yes" is kept for
``ADMIN_CACHE_SECONDS``, a "no" only for ``REFUSAL_CACHE_SECONDS`` (a newly
promoted admin must not wait), and a ``chat_member`` update (a promotion, a
demotion, a member leaving) replaces what is kept at once.
"""

from __future__ import annotations

from typing import Literal

from telegram import ChatMember, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.context import NewsContext
from bot.identity import speaks_for_chat

ADMIN_CACHE_SECONDS = 5 * 60
REFUSAL_CACHE_SECONDS = 10
_ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

Role = Literal["global", "group"]
"""``global``: an ADMIN_IDS moderator; ``group``: an admin of the group the update is from."""


def is_global_moderator(context: NewsContext, user_id: int) -> bool:
    """Whether the user is one of the bot's own moderators (ADMIN_IDS)."""
    return user_id in context.settings.admin_ids


def _is_admin(member: ChatMember) -> bool:
    return member.status in _ADMIN_STATUSES


async def is_group_admin(
    context: NewsContext, chat_id: int, user_id: int, *, fresh: bool = False
) -> bool:
    """Whether the user administers the group; ``fresh`` asks Telegram whatever is kept."""
    cache = context.bot_data.admin_cache
    now = context.now()
    cached = cache.get((chat_id, user_id))
    if cached is not None and not fresh:
        admin, since = cached
        if now - since < (ADMIN_CACHE_SECONDS if admin else REFUSAL_CACHE_SECONDS):
            return admin
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    admin = _is_admin(member)
    cache[(chat_id, user_id)] = (admin, now)
    return admin


async def role_of(update: Update, context: NewsContext) -> Role | None:
    """The sender's moderating role where the update comes from, or None."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    message = update.effective_message
    if message is not None and message.sender_chat is not None and not update.callback_query:
        # Only a group's admins can post as the group; a channel is no admin anywhere.
        return "group" if speaks_for_chat(update) else None
    if is_global_moderator(context, user.id):
        return "global"
    if chat.type != ChatType.PRIVATE and await is_group_admin(context, chat.id, user.id):
        return "group"
    return None


async def may_change_chat(update: Update, context: NewsContext) -> bool:
    """Whether the sender may change this chat's settings: anyone in private, else moderators."""
    chat = update.effective_chat
    if chat is None or update.effective_user is None:
        return False
    return chat.type == ChatType.PRIVATE or await role_of(update, context) is not None


async def may_be_banned(context: NewsContext, user_id: int, chat_id: int | None) -> bool:
    """Whether a ban may fall on the user: never on a moderator (asked afresh in a group)."""
    if is_global_moderator(context, user_id) or user_id == chat_id:
        return False
    return chat_id is None or not await is_group_admin(context, chat_id, user_id, fresh=True)


async def note_member_change(update: Update, context: NewsContext) -> None:
    """A ``chat_member`` update: keep the member's new admin status, replacing the old one."""
    change = update.chat_member
    if change is None:
        return
    key = (change.chat.id, change.new_chat_member.user.id)
    context.bot_data.admin_cache[key] = (_is_admin(change.new_chat_member), context.now())
