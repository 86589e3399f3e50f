"""getChat, getChatMember, getChatAdministrators, and the chat menu button."""

from __future__ import annotations

from bot.offline.core import ApiCore
from bot.offline.state import JSON, ApiError, ChatState, OfflineUser, bad_request


class ChatMethods(ApiCore):
    """What the bot may ask about a chat and its members."""

    async def _get_chat(self, params: JSON) -> JSON:
        state = self._chat_param(params)
        if state.bot_removed and state.chat.type != "private":
            kind = "supergroup" if state.chat.type == "supergroup" else "group"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        linked = {"linked_chat_id": state.linked_chat_id} if state.linked_chat_id else {}
        return {
            **state.chat.to_dict(),
            **linked,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: JSON) -> JSON:
        state = self._chat_param(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        user = self.bot_user if user_id == self.bot_user.id else self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if state.chat.type == "private":
            if user_id not in (state.chat.id, self.bot_user.id):
                raise bad_request("user not found")
            return {"status": "member", "user": user.to_dict()}
        return chat_member(state, user)

    async def _get_chat_administrators(self, params: JSON) -> list[JSON]:
        state = self._chat_param(params)
        if state.chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = ([state.owner_id] if state.owner_id is not None else []) + sorted(
            state.admin_ids - {state.owner_id}
        )
        users = [self.bot_user if i == self.bot_user.id else self.users[i] for i in ids]
        return [chat_member(state, user) for user in users]

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if params.get("chat_id") is None:
            self.default_menu_button = button
        else:
            self._chat_param(params).menu_button = button
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        if params.get("chat_id") is None:
            return self.default_menu_button
        return self._chat_param(params).menu_button or self.default_menu_button


def chat_member(state: ChatState, user: OfflineUser) -> JSON:
    """A ChatMember object for a group member."""
    if user.id == state.owner_id:
        return {"status": "creator", "user": user.to_dict(), "is_anonymous": False}
    if user.id in state.admin_ids:
        rights = (
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_pin_messages",
            "can_manage_topics",
        )
        return {
            "status": "administrator",
            "user": user.to_dict(),
            "can_be_edited": False,
            "is_anonymous": False,
            **dict.fromkeys(rights, True),
        }
    if user.id in state.left:
        return {"status": "left", "user": user.to_dict()}
    return {"status": "member", "user": user.to_dict()}
