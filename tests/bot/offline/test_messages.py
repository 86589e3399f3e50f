"""Sending, replying to, editing and deleting messages through a real PTB Application."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser
from tests.bot.offline.conftest import App, process


async def test_initialize_calls_get_me(api: OfflineBotAPI, app: App) -> None:
    assert [call.method for call in api.calls] == ["getMe"]
    assert app.bot.username == "NewsTestBot"
    assert app.bot.id == api.bot_user.id


async def test_command_reply_lands_in_the_chat_with_entities(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    update = api.send_text(dm, alice, "/start")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    await process(app, update)

    (call,) = api.calls_to("sendMessage")
    assert call.params["chat_id"] == dm.id and call.params["parse_mode"] == "HTML"
    (sent,) = api.sent_messages(dm)
    assert sent["text"] == "Welcome, Alice!"
    assert sent["entities"] == [{"type": "bold", "offset": 0, "length": 7}]
    assert sent["from"]["id"] == api.bot_user.id and sent["chat"]["id"] == dm.id
    assert sent["message_id"] == update["message"]["message_id"] + 1


async def test_plain_text_gets_no_entities_and_send_message_returns_a_full_message(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    update = api.send_text(dm, alice, "hello there")
    assert "entities" not in update["message"]

    message = await app.bot.send_message(dm.id, "plain <b>not parsed</b>")

    assert message.text == "plain <b>not parsed</b>" and message.entities == ()
    assert message.from_user is not None and message.from_user.is_bot
    assert message.chat.id == dm.id and message.date is not None


async def test_unknown_chat(api: OfflineBotAPI, app: App) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_message(424242, "hi")


async def test_reply_to_a_missing_message(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await app.bot.send_message(dm.id, "hi", reply_parameters=ReplyParameters(999))

    kept = await app.bot.send_message(
        dm.id, "hi", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert kept.reply_to_message is None

    asked = api.send_text(dm, alice, "question")
    answer = await app.bot.send_message(
        dm.id, "answer", reply_parameters=ReplyParameters(asked["message"]["message_id"])
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "question"


async def test_user_reply_carries_the_full_replied_message(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    card = await app.bot.send_message(dm.id, "<b>Card</b>", parse_mode=ParseMode.HTML)

    update = Update.de_json(api.send_text(dm, alice, "nice", reply_to=card.message_id), app.bot)

    assert update.message is not None and update.message.reply_to_message is not None
    replied = update.message.reply_to_message
    assert replied.message_id == card.message_id and replied.text == "Card"
    assert replied.from_user is not None and replied.from_user.id == api.bot_user.id


async def test_user_edits_reach_the_bot_only_for_messages_it_saw(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    group = api.group("Newsroom")
    joined = api.add_member(group, alice)
    assert joined["message"]["new_chat_members"][0]["id"] == alice.id
    seen = api.send_text(group, alice, "/comment 1 first")["message"]["message_id"]
    unseen = api.send_text(group, alice, "chatter")["message"]["message_id"]
    before = len(api.pending_updates())

    edit = api.edit_text(group, seen, alice, "/comment 1 fixed")
    api.edit_text(group, unseen, alice, "more chatter")

    assert edit["edited_message"]["text"] == "/comment 1 fixed"
    assert "edit_date" in edit["edited_message"]
    assert [u["update_id"] for u in api.pending_updates()[before:]] == [edit["update_id"]]
    with pytest.raises(PermissionError):
        api.edit_text(group, seen, api.user("Mallory"), "hijack")


async def test_editing_to_the_same_content_is_not_modified(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await app.bot.send_message(
        dm.id, "<b>Same</b>", parse_mode="HTML", reply_markup=keyboard
    )

    with pytest.raises(BadRequest, match="Message is not modified: specified new message"):
        await app.bot.edit_message_text(
            "<b>Same</b>", dm.id, sent.message_id, parse_mode="HTML", reply_markup=keyboard
        )

    # Leaving reply_markup out of an edit removes the keyboard, so this is a change.
    edited = await app.bot.edit_message_text(
        "<b>Same</b>", dm.id, sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.reply_markup is None
    assert "reply_markup" not in api.message(dm, sent.message_id)


async def test_edit_errors(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await app.bot.edit_message_text("new", dm.id, 404)

    theirs = api.send_text(dm, alice, "mine")["message"]["message_id"]
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await app.bot.edit_message_text("new", dm.id, theirs)


async def test_edit_reply_markup_only(api: OfflineBotAPI, app: App, dm: OfflineChat) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await app.bot.send_message(dm.id, "menu", reply_markup=keyboard)

    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_reply_markup(dm.id, sent.message_id, reply_markup=keyboard)
    await app.bot.edit_message_reply_markup(dm.id, sent.message_id, reply_markup=None)

    now = api.message(dm, sent.message_id)
    assert "reply_markup" not in now and now["text"] == "menu" and "edit_date" in now


async def test_small_methods_answer_true(api: OfflineBotAPI, app: App, dm: OfflineChat) -> None:
    assert await app.bot.send_chat_action(dm.id, "typing")
    assert await app.bot.set_chat_menu_button()
    assert await app.bot.delete_my_commands()
    assert await app.bot.log_out() and await app.bot.close()
    assert all(call.ok for call in api.calls)


async def test_delete_message(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    sent = await app.bot.send_message(dm.id, "bye")
    assert await app.bot.delete_message(dm.id, sent.message_id)
    assert api.sent_messages(dm) == []
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await app.bot.delete_message(dm.id, sent.message_id)
