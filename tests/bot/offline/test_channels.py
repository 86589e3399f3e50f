"""Channels, their discussion groups, and messages sent on behalf of a chat, as PTB reads them."""

from __future__ import annotations

import pytest
from telegram import Bot, Message, Update

from bot.offline import CHANNEL_BOT, GROUP_ANONYMOUS_BOT, OfflineBotAPI, OfflineRequest


async def test_a_post_reaches_the_bot_and_is_forwarded_into_the_discussion(
    api: OfflineBotAPI,
) -> None:
    owner = api.user("Editor")
    channel = api.channel("Daily News", username="dailynews", owner=owner)
    group = api.group("Daily News Chat", supergroup=True)
    api.set_admins(group, api.bot_user)
    api.link_discussion(channel, group)
    post, forward = api.post_in_channel(channel, "Big story")
    assert post is not None and forward is not None
    message = Update.de_json(post, None).channel_post
    assert message is not None and message.from_user is None
    assert message.sender_chat is not None and message.sender_chat.id == channel.id
    copy = Update.de_json(forward, None).message
    assert copy is not None and copy.is_automatic_forward
    assert copy.from_user is not None and copy.from_user.id == CHANNEL_BOT.id
    assert copy.sender_chat is not None and copy.sender_chat.id == channel.id
    assert copy.forward_origin is not None
    assert copy.forward_origin.chat.id == channel.id  # type: ignore[attr-defined]
    assert copy.forward_origin.message_id == message.message_id  # type: ignore[attr-defined]
    assert api.forward_of(channel, message.message_id) == copy.message_id


async def test_replies_in_a_posts_thread_carry_the_threads_id(api: OfflineBotAPI) -> None:
    channel = api.channel("Daily News")
    group = api.group("Daily News Chat", supergroup=True)
    api.set_admins(group, api.bot_user)
    api.link_discussion(channel, group)
    _, forward = api.post_in_channel(channel, "Big story")
    assert forward is not None
    root = forward["message"]["message_id"]
    reader = api.user("Reader")
    first = api.send_text(group, reader, "Great", reply_to=root)["message"]
    assert first["message_thread_id"] == root
    second = api.send_text(group, api.user("Other"), "Agreed", reply_to=first["message_id"])
    assert second["message"]["message_thread_id"] == root
    loose = api.send_text(group, reader, "unrelated")["message"]
    assert "message_thread_id" not in loose
    # The bot's reply there stays in the thread too, and so does an answer to it.
    bot = Bot("1:offline", request=OfflineRequest(api))
    async with bot:
        answer = await bot.send_message(
            group.id, "Thanks", reply_to_message_id=first["message_id"]
        )
    assert answer.message_thread_id == root
    again = api.send_text(group, reader, "You're welcome", reply_to=answer.message_id)
    assert again["message"]["message_thread_id"] == root


async def test_the_bots_own_post_is_forwarded_and_can_be_edited(api: OfflineBotAPI) -> None:
    channel = api.channel("Daily News", username="dailynews")
    group = api.group("Daily News Chat", supergroup=True)
    api.set_admins(group, api.bot_user)
    api.link_discussion(channel, group)
    bot = Bot("1:offline", request=OfflineRequest(api))
    async with bot:
        sent = await bot.send_message("@dailynews", "Card")
        assert sent.sender_chat is not None and sent.sender_chat.id == channel.id
        edited = await bot.edit_message_text("Card, edited", channel.id, sent.message_id)
        assert isinstance(edited, Message) and edited.text == "Card, edited"
        info = await bot.get_chat(channel.id)
        assert info.linked_chat_id == group.id
    [copy] = [m for m in api.messages(group) if m.get("is_automatic_forward")]
    assert copy["forward_origin"]["message_id"] == sent.message_id
    assert api.pending_updates()[-1]["message"]["message_id"] == copy["message_id"]


async def test_a_post_without_the_bot_as_admin_gives_it_nothing(api: OfflineBotAPI) -> None:
    channel = api.channel("Elsewhere", bot_is_admin=False)
    post, forward = api.post_in_channel(channel, "Not for the bot")
    assert post is None and forward is None


@pytest.mark.parametrize("as_channel", [True, False])
async def test_a_message_sent_as_a_chat_comes_from_the_shared_user(
    api: OfflineBotAPI, as_channel: bool
) -> None:
    group = api.group("Talk", supergroup=True)
    speaker = api.channel("Alice's channel") if as_channel else group
    update = api.send_text(group, api.user("Alice"), "/comment 1 hi", as_chat=speaker)
    message = Update.de_json(update, None).message
    assert message is not None and message.sender_chat is not None
    assert message.sender_chat.id == speaker.id
    shared = CHANNEL_BOT if as_channel else GROUP_ANONYMOUS_BOT
    assert message.from_user is not None and message.from_user.id == shared.id
