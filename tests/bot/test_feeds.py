"""Feed polling: FEEDS imported each round, what is new pushed to subscribed chats."""

from __future__ import annotations

from dataclasses import replace

from bot.app import poll_feeds_once
from bot.config import Settings
from tests.conftest import Driver, FeedServer, buttons, only_text


def rss(*titles: str) -> bytes:
    """An RSS document with one item per title, newest first as feeds list them."""
    items = "".join(
        f"<item><title>{title}</title><guid>https://desk.example/{title.replace(' ', '-')}</guid>"
        f"<description>&lt;p&gt;{title} happened in May 2024.&lt;/p&gt;</description></item>"
        for title in titles
    )
    return f'<rss version="2.0"><channel><title>Desk</title>{items}</channel></rss>'.encode()


async def test_new_feed_articles_are_pushed_to_subscribers_once(
    driver: Driver, settings: Settings, feed_server: FeedServer
) -> None:
    fan = driver.api.user("Fan")
    bystander = driver.api.user("Bystander")
    only_text(await driver.say(fan, fan, "/subscribe"))
    url = feed_server.serve("/desk.rss", rss("Story A", "Story B"))
    polling = replace(settings, feeds=(url,))
    driver.api.clear_calls()

    report = await poll_feeds_once(driver.app, polling)
    assert report.closing_line() == "2 new, 0 updated, 0 unchanged, 0 failed"
    pushed = driver.api.calls_to("sendMessage")
    assert [c.params["chat_id"] for c in pushed] == [fan.id, fan.id]
    # Oldest first, so the newest card ends at the bottom of the chat.
    assert [c.params["text"].split("\n")[0] for c in pushed] == [
        "<b>Story B</b>",
        "<b>Story A</b>",
    ]
    story_b = report.new_ids[1]
    assert buttons(pushed[0].params)[0] == [
        ("Full text", f"full:{story_b}"),
        ("Timeline", f"tl:{story_b}"),
    ]
    assert driver.bot_messages(bystander) == []

    driver.api.clear_calls()
    again = await poll_feeds_once(driver.app, polling)
    assert again.closing_line() == "0 new, 0 updated, 0 unchanged, 0 failed"  # 304
    assert driver.api.calls_to("sendMessage") == []

    feed_server.serve("/desk.rss", rss("Story C", "Story A", "Story B"))
    await poll_feeds_once(driver.app, polling)
    [card] = driver.api.calls_to("sendMessage")
    assert card.params["text"].startswith("<b>Story C</b>")


async def test_a_burst_of_new_articles_pushes_five_and_points_to_latest(
    driver: Driver, settings: Settings, feed_server: FeedServer
) -> None:
    fan = driver.api.user("Fan")
    only_text(await driver.say(fan, fan, "/subscribe"))
    titles = [f"Story {n}" for n in range(1, 9)]
    polling = replace(settings, feeds=(feed_server.serve("/desk.rss", rss(*titles)),))
    driver.api.clear_calls()
    await poll_feeds_once(driver.app, polling)
    pushed = [c.params["text"].split("\n")[0] for c in driver.api.calls_to("sendMessage")]
    assert pushed == [
        "<b>Story 5</b>",
        "<b>Story 4</b>",
        "<b>Story 3</b>",
        "<b>Story 2</b>",
        "<b>Story 1</b>",
        "…and 3 more new articles: /latest lists them.",
    ]


async def test_a_failing_feed_is_logged_and_polling_goes_on(
    driver: Driver, settings: Settings, feed_server: FeedServer
) -> None:
    fan = driver.api.user("Fan")
    only_text(await driver.say(fan, fan, "/subscribe"))
    good = feed_server.serve("/good.rss", rss("Good story"))
    broken = feed_server.serve("/broken.rss", b"<rss><channel><item><title>x</ti")
    polling = replace(settings, feeds=(f"{feed_server.base}/gone.rss", broken, good))
    driver.api.clear_calls()
    report = await poll_feeds_once(driver.app, polling)
    assert (report.new, report.failed) == (1, 2)
    assert report.errors[0] == f"{feed_server.base}/gone.rss: the server answered 404"
    [card] = driver.api.calls_to("sendMessage")
    assert card.params["chat_id"] == fan.id


async def test_an_unchanged_feed_is_not_downloaded_again(
    driver: Driver, settings: Settings, feed_server: FeedServer
) -> None:
    fan = driver.api.user("Fan")
    only_text(await driver.say(fan, fan, "/subscribe"))
    url = feed_server.serve("/desk.rss", rss("Story A"))
    polling = replace(settings, feeds=(url,))
    first = await poll_feeds_once(driver.app, polling)
    second = await poll_feeds_once(driver.app, polling)
    assert (first.new, second.new, second.unchanged, second.failed) == (1, 0, 0, 0)
    feed_server.serve("/desk.rss", rss("Story B", "Story A"))
    driver.api.clear_calls()
    third = await poll_feeds_once(driver.app, polling)
    assert (third.new, third.unchanged) == (1, 1)
    assert feed_server.answers == [("/desk.rss", 200), ("/desk.rss", 304), ("/desk.rss", 200)]
    [card] = driver.api.calls_to("sendMessage")
    assert card.params["text"].startswith("<b>Story B</b>")
