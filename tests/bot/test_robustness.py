"""Whatever readers type or press, the bot answers with something Telegram accepts.

A fixed-seed stream of commands with odd arguments, plain messages, replies and
forged button data goes through the real application in a private chat, a group
and a forum topic. The stand-in refuses what Telegram would refuse (bad HTML,
over-long text, bad buttons), and the driver fails on any handler error, so this
proves no input reaches a traceback.
"""

from __future__ import annotations

import random

from bot.offline import OfflineUser
from storage import Store
from tests.conftest import ADMIN_ID, Driver, texts

# fmt: off
COMMANDS = [
    "start", "help", "latest", "article", "summary", "timeline", "comments", "comment",
    "reply", "delete", "search", "subscribe", "unsubscribe", "hide", "unhide", "ban", "unban",
    "scope", "cancel", "frobnicate",
]
# fmt: on
ODD_ARGUMENTS = [
    "",
    "1",
    "0",
    "-1",
    "2",
    "999999999999999999999999",
    "1.5",
    "#1",
    "a1",
    "joint-anti-missile-drills-conclude-in-russia",
    "russia",
    "#China",
    "<b>bold</b>",
    "&amp; &",
    "<script>alert(1)</script>",
    "\u202eRTL\u200f",
    "😀" * 50,
    "x" * 5_000,
    "\x00\x07\x1b",
    "1 " + "y" * 3_000,
    "1 <i>unclosed",
    "1 " + "é" * 2_100,
    "1 1",
    "1 -5",
    "1 99999",
    "public",
    "group",
    "@NewsTestBot",
    "\n\n",
    '" * ( NEAR',
]
FORGED_DATA = [
    "cm:1:999",
    "cp:1:-2",
    "rp:99999",
    "open:999999",
    "zz:1",
    "cm:x:y",
    "",
    "open:" + "9" * 40,
    "wr:0",
]


async def test_a_stream_of_odd_input_never_breaks_the_bot(driver: Driver, store: Store) -> None:
    rng = random.Random(20261125)
    api = driver.api
    readers = [api.user(f"Reader{n}") for n in range(3)]
    admin = OfflineUser(ADMIN_ID, "Admin")
    api.users[ADMIN_ID] = admin
    people = [*readers, admin]
    group = api.group("Discussion", owner=readers[0])
    forum = api.group("Forum", forum=True, owner=readers[1])
    topic = api.create_topic(forum, "Drills", by=readers[1])
    places = [(reader, None) for reader in people] + [(group, None), (forum, topic)]
    answered = 0
    for _ in range(400):
        where, thread = rng.choice(places)
        user = rng.choice(people) if where in (group, forum) else where
        chat = driver.chat_of(where)
        roll = rng.random()
        bot_messages = [m for m in driver.bot_messages(chat) if m.get("reply_markup")]
        if roll < 0.2 and bot_messages:
            message = rng.choice(bot_messages)  # often an old one: a stale press
            data = [
                button["callback_data"]
                for row in message["reply_markup"]["inline_keyboard"]
                for button in row
                if "callback_data" in button
            ]
            if not data:
                continue
            update = api.press_button(
                chat, message["message_id"], user, rng.choice(data), queue=False
            )
            if rng.random() < 0.3:  # a modified client sends data of its own making
                update["callback_query"]["data"] = rng.choice(FORGED_DATA)
        else:
            if roll < 0.85:
                suffix = rng.choice(["", "@NewsTestBot", "@OtherBot"])
                text = f"/{rng.choice(COMMANDS)}{suffix} {rng.choice(ODD_ARGUMENTS)}".strip()
            else:
                text = rng.choice(ODD_ARGUMENTS)
                # Clients send no message that is blank once control characters go.
                text = text if text.strip(" \n\x00\x07\x1b") else "hello"
            mine = [m["message_id"] for m in driver.bot_messages(chat)]
            reply_to = rng.choice(mine) if mine and rng.random() < 0.3 else None
            update = api.send_text(
                chat, user, text, reply_to=reply_to, thread_id=thread, queue=False
            )
        calls = await driver.feed(update)  # raises on any handler error
        text = update.get("message", {}).get("text", "")
        if where in people and "@OtherBot" not in text:
            # In a private chat every message and press gets an answer.
            assert calls, text
            answered += 1
        # The clock moves so that rate limits and duplicate windows come and go.
        driver.clock.advance(rng.choice([0, 1, 5, 30, 61]))
    assert answered > 150
    assert await store.article(1) is not None
    if store.engine == "sqlite":  # PostgreSQL checks every key as it is written
        assert [tuple(r) for r in await store._all("PRAGMA integrity_check")] == [("ok",)]
        assert list(await store._all("PRAGMA foreign_key_check")) == []


async def test_lone_surrogates_in_an_update_are_replaced_before_any_handler_reads_them(
    driver: Driver, store: Store
) -> None:
    # JSON may escape a lone surrogate ("\ud800"); Python then holds a str no encoder takes.
    alice = driver.api.user("Alice")
    chat = driver.api.private_chat(alice)
    for command in ("/search", "/article", "/comments", "/timeline", "/comment 1", "/reply 1"):
        update = driver.api.send_text(chat, alice, f"{command} ab", queue=False)
        update["message"]["text"] = f"{command} a\ud800b"
        update["message"]["from"]["last_name"] = "\udfff"
        calls = await driver.feed(update)
        assert calls, command
        for call in calls:
            assert "\ud800" not in str(call.params) and "\udfff" not in str(call.params)
    [comment] = [c for c in await store.all_comments(1) if c.id == 6]
    assert comment.body == "a\ufffdb"
    assert comment.author == "Alice \ufffd"


async def test_a_group_whose_title_holds_control_characters_is_recorded_without_them(
    driver: Driver, store: Store
) -> None:
    # A NUL is text SQLite keeps and PostgreSQL refuses: it must not reach either.
    owner = driver.api.user("Owner")
    group = driver.api.group("News\x00 desk\x07", owner=owner)
    for command, answer in (("/subscribe", "Subscribed"), ("/scope public", "From now on")):
        calls = await driver.say(group, owner, command)
        assert any(text.startswith(answer) for text in texts(calls)), command
    chat = await store.chat(group.id)
    assert chat is not None
    assert (chat.title, chat.subscribed, chat.scope) == ("News desk", True, "public")
