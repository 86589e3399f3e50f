"""Inline keyboards, button presses and callback answers."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser
from tests.bot.offline.conftest import App, process


async def test_callback_data_over_64_bytes_is_refused(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    sixty_five_bytes = "é" * 32 + "x"  # 32 * 2 + 1 bytes, only 33 characters
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=sixty_five_bytes)]])

    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await app.bot.send_message(dm.id, "menu", reply_markup=keyboard)

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="é" * 32)]])
    message = await app.bot.send_message(dm.id, "menu", reply_markup=keyboard)
    assert message.reply_markup == keyboard
    assert api.calls_to("sendMessage")[-1].params["reply_markup"] == keyboard.to_dict()


async def test_buttons_need_exactly_one_action(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    bare = {"inline_keyboard": [[{"text": "Nothing"}]]}
    with pytest.raises(BadRequest, match="text buttons are unallowed"):
        await app.bot.send_message(dm.id, "menu", reply_markup=bare)  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="is invalid: wrong http url"):
        await app.bot.send_message(
            dm.id,
            "menu",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", url="not a url")]]),
        )


async def test_button_press_edits_the_message_in_place(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    await process(app, api.send_text(dm, alice, "/buttons"))
    (menu,) = api.sent_messages(dm)

    await process(app, api.press_button(dm, menu["message_id"], alice, "timeline:1"))

    (edited,) = api.sent_messages(dm)
    assert edited["message_id"] == menu["message_id"]
    assert edited["text"] == "You chose timeline:1" and "edit_date" in edited
    assert edited["reply_markup"] == menu["reply_markup"]
    assert [c.method for c in api.calls[-2:]] == ["answerCallbackQuery", "editMessageText"]


async def test_a_callback_query_can_be_answered_once(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    await process(app, api.send_text(dm, alice, "/buttons"))
    (menu,) = api.sent_messages(dm)
    update = api.press_button(dm, menu["message_id"], alice, "full:1")
    query_id = update["callback_query"]["id"]
    assert update["callback_query"]["message"]["message_id"] == menu["message_id"]

    assert await app.bot.answer_callback_query(query_id, text="Opening…")
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired"):
        await app.bot.answer_callback_query(query_id)
    assert api.callback_answers[query_id]["text"] == "Opening…"


async def test_callback_answer_text_limit(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    await process(app, api.send_text(dm, alice, "/buttons"))
    (menu,) = api.sent_messages(dm)
    query_id = api.press_button(dm, menu["message_id"], alice, "full:1")["callback_query"]["id"]

    with pytest.raises(BadRequest, match="Message_too_long"):
        await app.bot.answer_callback_query(query_id, text="x" * 201)
    assert await app.bot.answer_callback_query(query_id, text="x" * 200)


async def test_pressing_a_button_that_is_not_there_is_a_test_error(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    await process(app, api.send_text(dm, alice, "/buttons"))
    (menu,) = api.sent_messages(dm)

    with pytest.raises(LookupError, match="no button"):
        api.press_button(dm, menu["message_id"], alice, "nope")
