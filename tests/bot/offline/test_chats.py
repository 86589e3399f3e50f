"""Groups, forums, members, privacy mode, blocked and kicked bots."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, Forbidden

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser
from tests.bot.offline.conftest import App, process


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
