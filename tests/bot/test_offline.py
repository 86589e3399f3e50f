"""The offline Bot API driven by a real PTB Application: what Telegram would answer."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.offline import (
    EntityParseError,
    OfflineBotAPI,
    OfflineChat,
    OfflineRequest,
    OfflineUser,
    parse_html,
    utf16_len,
)
from bot.terminal import format_message

App = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB 22's timedelta periods, as the bot does.

    Without it, building a ``RetryAfter`` (or reading any period) emits a
    PTBDeprecationWarning, which the warnings-as-errors config turns into the raised error.
    """
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


# ---- a tiny bot -----------------------------------------------------------------------------


async def greet(update: Update, context: Context) -> None:
    """Welcome the user by name, in bold."""
    assert update.effective_message and update.effective_user
    name = html.escape(update.effective_user.first_name)
    await update.effective_message.reply_html(f"<b>Welcome</b>, {name}!")


async def send_buttons(update: Update, context: Context) -> None:
    """Reply with a two-row inline keyboard."""
    assert update.effective_message
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Full text", callback_data="full:1"),
                InlineKeyboardButton("Timeline", callback_data="timeline:1"),
            ],
            [InlineKeyboardButton("Comments (5)", callback_data="comments:1")],
        ]
    )
    await update.effective_message.reply_text("Pick one", reply_markup=keyboard)


async def show_choice(update: Update, context: Context) -> None:
    """Answer the button press and edit the message in place, keeping its keyboard."""
    query = update.callback_query
    assert query and query.message
    await query.answer()
    assert isinstance(query.message, Message)
    await query.edit_message_text(
        f"You chose {query.data}", reply_markup=query.message.reply_markup
    )


async def echo(update: Update, context: Context) -> None:
    """Echo the text back in italics, escaped."""
    assert update.effective_message and update.effective_message.text
    text = html.escape(update.effective_message.text)
    await update.effective_message.reply_text(f"<i>{text}</i>", parse_mode=ParseMode.HTML)


def build_app(api: OfflineBotAPI) -> App:
    """The real PTB application, talking only to the offline API."""
    app = (
        ApplicationBuilder()
        .token("123:TEST")
        .request(OfflineRequest(api))
        .get_updates_request(OfflineRequest(api))
        .build()
    )
    app.add_handler(CommandHandler("start", greet))
    app.add_handler(CommandHandler("buttons", send_buttons))
    app.add_handler(CallbackQueryHandler(show_choice))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@pytest.fixture
def api() -> OfflineBotAPI:
    """A fresh offline Bot API."""
    return OfflineBotAPI(username="NewsTestBot")


@pytest.fixture
async def app(api: OfflineBotAPI) -> AsyncIterator[App]:
    """An initialised application (getMe done), shut down after the test."""
    application = build_app(api)
    async with application:
        yield application


@pytest.fixture
def alice(api: OfflineBotAPI) -> OfflineUser:
    """A user."""
    return api.user("Alice", "Liddell", "alice")


@pytest.fixture
def dm(api: OfflineBotAPI, alice: OfflineUser) -> OfflineChat:
    """Alice's private chat with the bot."""
    return api.private_chat(alice)


async def process(app: App, update: dict[str, Any]) -> None:
    """Hand one update to the application, as the updater would."""
    await app.process_update(Update.de_json(update, app.bot))


# ---- start-up and plain sending -------------------------------------------------------------


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


async def test_html_is_parsed_into_text_and_entities(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    html_text = (
        '<b>Drills</b> &amp; <a href="https://example.com/a?x=1&amp;y=2">more</a>\n'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>said</blockquote>'
    )
    message = await app.bot.send_message(dm.id, html_text, parse_mode=ParseMode.HTML)

    assert message.text == "Drills & more\nx = 1said"
    kinds = [(e.type, e.offset, e.length) for e in message.entities]
    assert kinds == [
        ("bold", 0, 6),
        ("text_link", 9, 4),
        ("pre", 14, 5),
        ("blockquote", 19, 4),
    ]
    assert message.entities[1].url == "https://example.com/a?x=1&y=2"
    assert message.entities[2].language == "python"


async def test_entity_offsets_are_utf16(api: OfflineBotAPI, app: App, dm: OfflineChat) -> None:
    message = await app.bot.send_message(dm.id, "😀 <b>é😀</b>", parse_mode=ParseMode.HTML)

    (bold,) = message.entities
    assert (bold.offset, bold.length) == (3, 3)
    assert message.parse_entity(bold) == "é😀"


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("a <script>x</script>", 'Unsupported start tag "script" at byte offset 2'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("AT&T", 'Unescaped "&" at byte offset 2'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
    ],
)
async def test_bad_html_is_refused_like_telegram(
    api: OfflineBotAPI, app: App, dm: OfflineChat, text: str, description: str
) -> None:
    with pytest.raises(BadRequest, match=r"^Can't parse entities: ") as caught:
        await app.bot.send_message(dm.id, text, parse_mode=ParseMode.HTML)

    # PTB capitalises the description (lower-casing the rest); the log keeps Telegram's text.
    assert description.lower() in caught.value.message
    (call,) = api.calls_to("sendMessage")
    assert call.error is not None and call.error.error_code == 400
    assert call.error.description.startswith("Bad Request: can't parse entities: ")
    assert call.error.description.endswith(description) or "offline API" in call.error.description
    assert api.sent_messages(dm) == []


async def test_length_is_checked_after_parsing(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await app.bot.send_message(dm.id, "x" * 5000)
    with pytest.raises(BadRequest, match="Message is too long"):
        await app.bot.send_message(dm.id, "😀" * 2049)  # 4098 UTF-16 code units

    tags_only_count_as_nothing = "<b>" + "x" * 4096 + "</b>"
    await app.bot.send_message(dm.id, tags_only_count_as_nothing, parse_mode=ParseMode.HTML)


@pytest.mark.parametrize("text", ["", "   \n  ", "<b></b>"])
async def test_empty_text_is_refused(
    api: OfflineBotAPI, app: App, dm: OfflineChat, text: str
) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await app.bot.send_message(dm.id, text, parse_mode=ParseMode.HTML)


async def test_explicit_entities_must_fit_the_text(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    with pytest.raises(BadRequest, match="ends after the end of the text at utf-16 offset 5"):
        await app.bot.send_message(dm.id, "abc", entities=[MessageEntity("bold", 0, 5)])

    sent = await app.bot.send_message(dm.id, "abc", entities=[MessageEntity("bold", 1, 2)])
    assert sent.entities == (MessageEntity("bold", 1, 2),)


async def test_unknown_chat(api: OfflineBotAPI, app: App) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_message(424242, "hi")


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


# ---- buttons, edits, callback answers ---------------------------------------------------------


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


async def test_edit_reply_markup_only(api: OfflineBotAPI, app: App, dm: OfflineChat) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await app.bot.send_message(dm.id, "menu", reply_markup=keyboard)

    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_reply_markup(dm.id, sent.message_id, reply_markup=keyboard)
    await app.bot.edit_message_reply_markup(dm.id, sent.message_id, reply_markup=None)

    now = api.message(dm, sent.message_id)
    assert "reply_markup" not in now and now["text"] == "menu" and "edit_date" in now


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


# ---- groups, forums, members -----------------------------------------------------------------


async def test_group_command_addressed_to_this_bot(
    api: OfflineBotAPI, app: App, alice: OfflineUser
) -> None:
    group = api.group("Newsroom", supergroup=True)
    assert str(group.id).startswith("-100")

    update = api.send_text(group, alice, "/start@NewsTestBot")

    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 18}]
    assert update["message"]["chat"] == {"id": group.id, "type": "supergroup", "title": "Newsroom"}
    await process(app, update)
    (sent,) = api.sent_messages(group)
    assert sent["text"] == "Welcome, Alice!"
    # PTB quotes in groups by default: the reply points at the command.
    assert sent["reply_to_message"]["message_id"] == update["message"]["message_id"]


async def test_privacy_mode_decides_what_a_group_delivers(
    api: OfflineBotAPI, app: App, alice: OfflineUser
) -> None:
    group = api.group("Newsroom")
    assert group.id < 0 and not str(group.id).startswith("-100")

    chatter = api.send_text(group, alice, "just chatting")
    other_bot = api.send_text(group, alice, "/start@OtherBot")
    command = api.send_text(group, alice, "/start")
    card = await app.bot.send_message(group.id, "card")
    reply = api.send_text(group, alice, "a reply", reply_to=card.message_id)

    queued = [u["update_id"] for u in api.pending_updates()]
    assert queued == [command["update_id"], reply["update_id"]]
    assert not api.would_deliver(group, chatter["message"])
    assert not api.would_deliver(group, other_bot["message"])

    api.set_admins(group, api.bot_user)  # admin bots see everything
    later = api.send_text(group, alice, "more chatter")
    assert api.pending_updates()[-1]["update_id"] == later["update_id"]


async def test_forum_topic_keeps_its_thread(
    api: OfflineBotAPI, app: App, alice: OfflineUser
) -> None:
    forum = api.group("Desk", forum=True)
    topic = api.create_topic(forum, "Defence", by=alice)

    update = api.send_text(forum, alice, "/start", thread_id=topic)
    message = update["message"]
    assert message["message_thread_id"] == topic and message["is_topic_message"] is True
    # Telegram marks topic messages as replies to the topic's opening message.
    assert message["reply_to_message"]["forum_topic_created"]["name"] == "Defence"

    await process(app, update)

    (sent,) = api.sent_messages(forum)
    assert sent["message_thread_id"] == topic and sent["is_topic_message"] is True
    assert api.calls_to("sendMessage")[0].params["message_thread_id"] == topic

    with pytest.raises(BadRequest, match="Message thread not found"):
        await app.bot.send_message(forum.id, "lost", message_thread_id=topic + 100)


async def test_get_chat_member_admin_and_member(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    bob = api.user("Bob")
    owner = api.user("Olga")
    group = api.group("Newsroom", supergroup=True, owner=owner)
    api.set_admins(group, alice)

    assert (await app.bot.get_chat_member(group.id, alice.id)).status == "administrator"
    assert (await app.bot.get_chat_member(group.id, owner.id)).status == "creator"
    assert (await app.bot.get_chat_member(group.id, bob.id)).status == "member"
    assert (await app.bot.get_chat_member(dm.id, alice.id)).status == "member"
    admins = await app.bot.get_chat_administrators(group.id)
    assert [(m.user.id, m.status) for m in admins] == [
        (owner.id, "creator"),
        (alice.id, "administrator"),
    ]
    with pytest.raises(BadRequest, match="User not found"):
        await app.bot.get_chat_member(group.id, 31337)
    chat = await app.bot.get_chat(group.id)
    assert chat.title == "Newsroom" and chat.type == "supergroup"


async def test_blocked_and_kicked_chats_are_forbidden(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    change = api.block_bot(alice)
    assert change["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(dm.id, "news!")

    group = api.group("Old group")
    api.kick_bot(group, alice)
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await app.bot.send_message(group.id, "news!")


# ---- updates and polling ---------------------------------------------------------------------


async def test_get_updates_serves_the_queue_in_order_and_honours_offset(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    ids = [api.send_text(dm, alice, f"m{n}")["update_id"] for n in range(3)]

    first = await app.bot.get_updates(limit=2)
    assert [u.update_id for u in first] == ids[:2]
    assert [u.message.text for u in first if u.message] == ["m0", "m1"]

    rest = await app.bot.get_updates(offset=ids[1] + 1)
    assert [u.update_id for u in rest] == ids[2:]
    assert await app.bot.get_updates(offset=ids[2] + 1) == ()
    assert api.pending_updates() == []


async def test_long_poll_waits_for_an_update_instead_of_spinning(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    started = time.monotonic()
    assert await app.bot.get_updates(timeout=0.05) == ()
    assert time.monotonic() - started >= 0.04
    assert len(api.calls_to("getUpdates")) == 1

    poll = asyncio.create_task(app.bot.get_updates(timeout=5))
    await asyncio.sleep(0.01)
    api.send_text(dm, alice, "wake up")
    updates = await asyncio.wait_for(poll, 1)
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_webhook_blocks_get_updates(api: OfflineBotAPI, app: App) -> None:
    assert await app.bot.set_webhook("https://bot.example.com/hook")
    assert (await app.bot.get_webhook_info()).url == "https://bot.example.com/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await app.bot.get_updates()
    assert await app.bot.delete_webhook()
    assert await app.bot.get_updates() == ()


async def test_a_second_long_poll_terminates_the_first(api: OfflineBotAPI, app: App) -> None:
    first = asyncio.create_task(app.bot.get_updates(timeout=5))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(app.bot.get_updates(timeout=0.05))

    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 1)
    assert await second == ()


async def test_real_polling_picks_up_an_update(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
    await app.start()
    try:
        api.send_text(dm, alice, "/start")
        for _ in range(200):
            if api.sent_messages(dm):
                break
            await asyncio.sleep(0.01)
    finally:
        await app.updater.stop()
        await app.stop()

    assert [m["text"] for m in api.sent_messages(dm)] == ["Welcome, Alice!"]
    assert api.calls_to("deleteWebhook"), "the updater's bootstrap clears any webhook"
    assert api.pending_updates() == [], "the final getUpdates confirmed what was processed"


# ---- planted failures ------------------------------------------------------------------------


async def test_fail_next_raises_retry_after_once(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    api.fail_next("sendMessage", retry_after=3)

    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(dm.id, "flood")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    failed = api.calls_to("sendMessage")[0]
    assert failed.error is not None and failed.error.parameters == {"retry_after": 3}

    assert (await app.bot.send_message(dm.id, "again")).text == "again"


async def test_fail_next_network_error_once(api: OfflineBotAPI, app: App, dm: OfflineChat) -> None:
    api.fail_next("sendMessage", network=True)

    with pytest.raises(NetworkError, match="planted network failure"):
        await app.bot.send_message(dm.id, "lost")
    assert api.calls_to("sendMessage")[0].network_error

    assert (await app.bot.send_message(dm.id, "again")).text == "again"
    assert [m["text"] for m in api.sent_messages(dm)] == ["again"]


async def test_unknown_method_is_404_and_logged(api: OfflineBotAPI, app: App) -> None:
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": 1})

    (call,) = api.unknown_calls
    assert call.method == "sendTeleportation" and call.params == {"chat_id": 1}
    assert call.error is not None and call.error.description == "Not Found"


# ---- commands, inline mode -------------------------------------------------------------------


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


# ---- terminal rendering ----------------------------------------------------------------------


async def test_format_message_numbers_buttons_by_row(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    await process(app, api.send_text(dm, alice, "/buttons"))
    (menu,) = api.sent_messages(dm)

    assert format_message(menu) == ("Pick one\n[1] Full text  [2] Timeline\n[3] Comments (5)")
    assert api.button_by_number(dm, menu["message_id"], 2)["callback_data"] == "timeline:1"
    with pytest.raises(LookupError):
        api.button_by_number(dm, menu["message_id"], 4)

    await process(app, api.press_button_number(dm, menu["message_id"], alice, 3))
    assert api.sent_messages(dm)[0]["text"] == "You chose comments:1"


def test_format_message_marks_and_links() -> None:
    text, entities = parse_html('<b>Title</b> see <a href="https://e.com/">here</a>')
    message = {
        "text": text,
        "entities": entities,
        "reply_markup": {"inline_keyboard": [[{"text": "Site", "url": "https://e.com/"}]]},
    }

    assert format_message(message) == "Title see here\n[1] Site <https://e.com/>"
    assert format_message(message, marks=True).splitlines()[0] == (
        "*Title* see here <https://e.com/>"
    )


# ---- the HTML parser on its own ----------------------------------------------------------------


def test_parse_html_reports_byte_offsets() -> None:
    with pytest.raises(EntityParseError, match=r'"marquee" at byte offset 3$'):
        parse_html("é <marquee>")  # 'é' is two bytes


def test_parse_html_lenient_mode_keeps_a_bare_ampersand_as_telegram_does() -> None:
    assert parse_html("AT&T &nbsp;", strict=False) == ("AT&T &nbsp;", [])


@given(st.text())
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    parsed, entities = parse_html(html.escape(text))

    assert parsed == text and entities == []


@given(st.text(min_size=1).filter(lambda t: "\x00" not in t))
def test_bold_entity_spans_the_whole_text_in_utf16(text: str) -> None:
    parsed, entities = parse_html(f"<b>{html.escape(text)}</b>")

    assert entities == [{"type": "bold", "offset": 0, "length": utf16_len(text)}]
    assert parsed == text


HTML_PIECES = [*"<>/&;#x01ab=\"' \n\ré😀", "<b>", "</b>", "<pre>", "<code>", "&amp;", "&#"]


@given(st.lists(st.sampled_from(HTML_PIECES)).map("".join))
def test_parse_html_fails_only_with_parse_errors_and_keeps_entities_in_range(text: str) -> None:
    for strict in (True, False):
        try:
            parsed, entities = parse_html(text, strict=strict)
        except EntityParseError:
            continue
        size = utf16_len(parsed)
        for entity in entities:
            assert entity["offset"] >= 0 and entity["length"] > 0
            assert entity["offset"] + entity["length"] <= size
