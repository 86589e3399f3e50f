"""Flood limits, dropped connections, blocked chats, handler errors, and real polling."""

from __future__ import annotations

import asyncio
import dataclasses

from telegram.error import RetryAfter

from bot.app import ALLOWED_UPDATES, build_application
from bot.config import Settings
from bot.offline import OfflineBotAPI, OfflineRequest
from storage import Store
from tests.conftest import Driver, only_text, push_new_article, sent, texts


async def test_a_flood_limit_is_waited_out_and_the_message_sent(driver: Driver) -> None:
    ada = driver.api.user("Ada")
    driver.api.fail_next("sendMessage", retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    calls = await driver.say(ada, ada, "/help")
    assert loop.time() - started >= 1.0
    assert [c.ok for c in calls if c.method == "sendMessage"] == [False, True]
    assert len(driver.bot_messages(ada)) == 1


async def test_a_network_error_is_retried(driver: Driver) -> None:
    bo = driver.api.user("Bo")
    driver.api.fail_next("sendMessage", network=True, times=2)
    calls = await driver.say(bo, bo, "/latest")
    assert [c.network_error for c in calls] == [True, True, False]
    assert len(driver.bot_messages(bo)) == 1


async def test_a_flood_limit_longer_than_we_wait_surfaces(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    app = build_application(settings, request=OfflineRequest(api), store=store)
    async with app:
        api.fail_next("sendMessage", retry_after=3600)
        chat = api.private_chat(api.user("Cy"))
        try:
            await app.bot.send_message(chat.id, "hi")
        except RetryAfter as exc:
            assert exc.retry_after.total_seconds() == 3600  # type: ignore[union-attr]
        else:
            raise AssertionError("expected RetryAfter")


async def test_pushing_to_a_chat_that_blocked_the_bot_unsubscribes_it(
    driver: Driver, store: Store
) -> None:
    fan = driver.api.user("Fan")
    quitter = driver.api.user("Quitter")
    for user in (fan, quitter):
        assert only_text(await driver.say(user, user, "/subscribe")).startswith("Subscribed")
    assert (
        only_text(await driver.say(fan, fan, "/subscribe")) == "This chat is already subscribed."
    )
    driver.api.block_bot(quitter, queue=False)
    driver.api.clear_calls()
    count = await push_new_article(driver, store, "Harbour Reopens")
    assert count == 1
    # Chats are sent to side by side: on PostgreSQL each on a connection of its own, in
    # whichever order they come.
    assert sorted(c.params["chat_id"] for c in driver.api.calls_to("sendMessage")) == [
        fan.id,
        quitter.id,
    ]
    assert await store.subscribed_chats() == [fan.id]
    assert driver.bot_messages(fan)[-1]["text"].startswith("Harbour Reopens\n")


async def test_only_group_admins_subscribe_a_group(driver: Driver, store: Store) -> None:
    boss = driver.api.user("Boss")
    member = driver.api.user("Member")
    group = driver.api.group("G")
    driver.api.set_admins(group, boss)
    refused = only_text(await driver.say(group, member, "/subscribe"))
    assert refused == "Only the group's admins can change this chat's settings."
    assert only_text(await driver.say(group, boss, "/subscribe")).startswith("Subscribed")
    assert await store.subscribed_chats() == [group.id]
    assert only_text(await driver.say(group, boss, "/unsubscribe")) == (
        "Unsubscribed: no more new articles here."
    )


async def test_handler_errors_reach_the_admin_chat(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    admin_chat = api.group("Ops")
    settings = dataclasses.replace(settings, admin_chat_id=admin_chat.id)
    app = build_application(settings, request=OfflineRequest(api), store=store)
    reader = api.user("Reader")
    async with app:
        await store.close()  # every query now fails
        from telegram import Update

        update = api.send_text(api.private_chat(reader), reader, "/latest", queue=False)
        await app.process_update(Update.de_json(update, app.bot))
    [apology] = api.sent_messages(api.private_chat(reader))
    assert apology["text"] == "Sorry, something went wrong on my side. Please try again later."
    [report] = api.sent_messages(admin_chat)
    assert report["text"].startswith(
        f"⚠️ newsbot error while handling update {update['update_id']}"
    )
    assert "'/latest'" in report["text"]


async def test_real_long_polling_asks_for_our_update_types(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    app = build_application(settings, request=OfflineRequest(api), store=store)
    reader = api.user("Poller")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0)
        api.send_text(api.private_chat(reader), reader, "/help")
        for _ in range(100):
            if api.sent_messages(api.private_chat(reader)):
                break
            await asyncio.sleep(0.02)
        await app.updater.stop()
        await app.stop()
    [get_updates, *_] = api.calls_to("getUpdates")
    assert get_updates.params["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "inline_query",
        "chat_member",
    ]
    assert texts(api.calls_to("sendMessage"))[0].startswith("<b>newsbot</b> serves")


async def test_inline_query_offers_article_cards(driver: Driver) -> None:
    sam = driver.api.user("Sam")
    calls = await driver.feed(driver.api.inline_query(sam, "drills", queue=False))
    [answer] = sent(calls, "answerInlineQuery")
    [result] = answer["results"]
    assert result["id"] == "a1"
    assert result["title"] == "Joint Anti-Missile Drills Conclude in Russia"
    assert result["input_message_content"]["parse_mode"] == "HTML"
    assert result["reply_markup"]["inline_keyboard"] == [
        [{"text": "Open in the bot", "url": "https://t.me/NewsTestBot?start=a1"}]
    ]
    # Punctuation alone offers the newest articles, as an empty query does.
    calls = await driver.feed(driver.api.inline_query(sam, "(*", queue=False))
    [answer] = sent(calls, "answerInlineQuery")
    assert [r["id"] for r in answer["results"]] == ["a1"]


async def test_pushing_to_a_group_that_became_a_supergroup_follows_it(
    driver: Driver, store: Store
) -> None:
    boss = driver.api.user("Boss")
    group = driver.api.group("Desk", owner=boss)
    driver.api.set_admins(group, boss, owner=boss)
    await driver.say(group, boss, "/subscribe")
    # The bot missed the service messages (it was down, say): the next push finds out.
    supergroup, _, _ = driver.api.upgrade_to_supergroup(group, boss, queue=False)
    driver.api.clear_calls()
    assert await push_new_article(driver, store, "Harbour Reopens") == 1
    refused, delivered = driver.api.calls_to("sendMessage")
    assert refused.params["chat_id"] == group.id and not refused.ok
    assert delivered.params["chat_id"] == supergroup.id and delivered.ok
    assert await store.subscribed_chats() == [supergroup.id]


async def test_an_answer_cut_off_on_its_way_back_is_not_followed_by_sorry(
    driver: Driver,
) -> None:
    """A timeout or a dropped connection after Telegram took the message: it arrived."""
    reader = driver.api.user("Reader")
    for timeout in (True, False):
        driver.api.drop_after_delivery("sendMessage", timeout=timeout)
        update = driver.api.send_text(driver.chat_of(reader), reader, "/latest", queue=False)
        calls = await driver.feed(update, allow_errors=True)
        assert [c.method for c in calls] == ["sendMessage"]  # the answer, and no apology
        assert calls[0].dropped
    # A call that never left (a connect error, every retry) did fail: then "Sorry".
    driver.api.fail_next("sendMessage", network=True, times=4)
    update = driver.api.send_text(driver.chat_of(reader), reader, "/latest", queue=False)
    calls = await driver.feed(update, allow_errors=True)
    assert calls[-1].ok and calls[-1].params["text"].startswith("Sorry, something went wrong")
