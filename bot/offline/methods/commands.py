"""setMyCommands, getMyCommands, deleteMyCommands: the command menus, per scope and language."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from bot.offline.core import ApiCore
from bot.offline.state import JSON, bad_request, clone

MAX_BOT_COMMANDS: Final = 100


class CommandMethods(ApiCore):
    """The command menus the bot sets."""

    def my_commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """The command menu set for a scope (default scope when omitted)."""
        return clone(self.commands.get(scope_key(scope, language_code), []))

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > MAX_BOT_COMMANDS:
            raise bad_request("too many commands specified")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            # Telegram's rules: 1-32 of a-z 0-9 _, a 1-256 character description.
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = self._checked_scope(params.get("scope"))
        key = scope_key(scope, params.get("language_code", ""))
        self.commands[key] = clone(commands)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        scope = self._checked_scope(params.get("scope"))
        return clone(self.commands.get(scope_key(scope, params.get("language_code", ""))) or [])

    async def _delete_my_commands(self, params: JSON) -> bool:
        scope = self._checked_scope(params.get("scope"))
        self.commands.pop(scope_key(scope, params.get("language_code", "")), None)
        return True

    def _checked_scope(self, scope: Any) -> JSON | None:
        if scope is None:
            return None
        kinds = {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }
        if not isinstance(scope, dict) or scope.get("type") not in kinds:
            raise bad_request("can't parse BotCommandScope JSON object")
        if str(scope["type"]).startswith("chat"):
            self._chat_param(scope)
        return dict(scope)


def scope_key(scope: Mapping[str, Any] | None, language_code: Any) -> tuple[str, str]:
    """The key commands are stored under: (canonical scope JSON, language code)."""
    canonical = dict(scope) if scope else {"type": "default"}
    return json.dumps(canonical, sort_keys=True), str(language_code or "")
