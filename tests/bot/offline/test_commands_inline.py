"""Command menus and inline mode."""

from __future__ import annotations

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser
from tests.bot.offline.conftest import App


async def test_commands_are_stored_per_scope(api: OfflineBotAPI, app: App) -> None:
    await app.bot.set_my_commands([BotCommand("latest", "Newest articles")])
    await app.bot.set_my_commands(
        [BotCommand("hide", "Hide a comment")], scope=BotCommandScopeAllGroupChats()
    )

    assert [c.command for c in await app.bot.get_my_commands()] == ["latest"]
    assert api.my_commands({"type": "all_group_chats"}) == [
        {"command": "hide", "description": "Hide a comment"}
    ]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await app.bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_inline_answers_are_validated(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    query_id = api.inline_query(alice, "drills")["inline_query"]["id"]

    def article(result_id: str, text: str) -> InlineQueryResultArticle:
        content = InputTextMessageContent(text, parse_mode=ParseMode.HTML)
        return InlineQueryResultArticle(result_id, "Drills", content)

    with pytest.raises(BadRequest, match="Result_id_duplicate"):
        await app.bot.answer_inline_query(query_id, [article("a1", "x"), article("a1", "y")])
    with pytest.raises(BadRequest, match="Result_id_invalid"):
        await app.bot.answer_inline_query(query_id, [article("a" * 65, "x")])
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await app.bot.answer_inline_query(query_id, [article("a1", "<b>x")])

    assert await app.bot.answer_inline_query(query_id, [article("a1", "<b>Drills</b>")])
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_inline_query(query_id, [article("a1", "x")])

    shared = api.choose_inline_result(dm, alice, query_id, "a1")["message"]
    assert shared["text"] == "Drills" and shared["via_bot"]["id"] == api.bot_user.id
