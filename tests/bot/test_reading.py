"""Reading commands end to end: real Update JSON in, exact Bot API calls out."""

from __future__ import annotations

import html

import pytest

from bot.app import post_init, post_shutdown
from bot.commands import command_menus, help_text
from bot.offline import OfflineBotAPI, parse_html
from storage import Store
from storage.ingest import enrich
from storage.models import Block, ParsedArticle, TimelineEvent
from tests.conftest import Driver, buttons, only_text, sent, texts

TITLE = "Joint Anti-Missile Drills Conclude in Russia"
CARD_BUTTONS = [
    [("Full text", "full:1"), ("Timeline", "tl:1")],
    [("Comments (5)", "cm:1:1"), ("Comment", "wr:1")],
]


async def test_start_welcomes_by_name(driver: Driver) -> None:
    alice = driver.api.user("Alice <3")
    calls = await driver.say(alice, alice, "/start")
    [params] = sent(calls)
    assert params["chat_id"] == alice.id
    assert params["text"].startswith("Hello, Alice &lt;3! I serve the news desk's articles")
    assert params["parse_mode"] == "HTML"


async def test_start_deep_link_opens_the_article(driver: Driver) -> None:
    alice = driver.api.user("Alice")
    calls = await driver.say(alice, alice, "/start a1")
    [params] = sent(calls)
    assert params["text"].startswith(f"<b>{TITLE}</b>\n<i>")
    assert "💬 5 comments · id 1" in params["text"]
    assert buttons(params) == CARD_BUTTONS


async def test_start_with_a_dead_link_says_so_and_lists_latest(driver: Driver) -> None:
    alice = driver.api.user("Alice")
    calls = await driver.say(alice, alice, "/start a999")
    found = texts(calls)
    assert found[0] == "That article link is no longer valid. Here is what is new:"
    assert found[1].startswith("<b>Latest articles</b>")


async def test_help_lists_every_command_with_an_example(driver: Driver) -> None:
    bob = driver.api.user("Bob")
    text = only_text(await driver.say(bob, bob, "/help"))
    assert text == help_text()
    _, group = command_menus()
    for command in group:
        assert f"/{command.command}" in text
    assert "<code>/comment 1 Well reported.</code>" in text


async def test_menus_are_registered_for_private_chats_and_groups(
    driver: Driver, api: OfflineBotAPI
) -> None:
    await post_init(driver.app)
    await post_shutdown(driver.app)
    private = [c["command"] for c in api.my_commands({"type": "all_private_chats"})]
    group = [c["command"] for c in api.my_commands({"type": "all_group_chats"})]
    assert private[:4] == ["start", "help", "latest", "article"]
    moderation = ["hide", "unhide", "ban", "unban", "scope", "connect", "disconnect"]
    assert [c for c in moderation if c in private] == []
    assert [c for c in moderation if c in group] == moderation


async def test_latest_lists_articles_with_numbered_buttons(driver: Driver, store: Store) -> None:
    await store.save_article(
        ParsedArticle(
            title="Second <story>",
            blocks=(Block("paragraph", "Body."),),
            source_key="k2",
            published_at="2030-01-02T00:00:00Z",
            summary="Body.",
        )
    )
    carol = driver.api.user("Carol")
    [params] = sent(await driver.say(carol, carol, "/latest"))
    lines = params["text"].split("\n")
    assert lines[0] == "<b>Latest articles</b>"
    assert lines[2] == "1. Second &lt;story&gt; <i>· 2 January 2030</i>"
    assert lines[3].startswith(f"2. {TITLE} <i>· ")
    assert buttons(params) == [[("1", "open:2"), ("2", "open:1")]]
    [one] = sent(await driver.say(carol, carol, "/latest 1"))
    assert one["text"].count("\n") == 2


@pytest.mark.parametrize("arg", ["0", "21", "x", "1 2", "-3"])
async def test_latest_with_a_bad_count_explains(driver: Driver, arg: str) -> None:
    carol = driver.api.user("Carol")
    text = only_text(await driver.say(carol, carol, f"/latest {arg}"))
    assert text == "Usage: /latest [N], with N from 1 to 20."


async def test_article_by_id_and_by_slug(driver: Driver) -> None:
    dan = driver.api.user("Dan")
    by_id = sent(await driver.say(dan, dan, "/article 1"))[0]
    by_slug = sent(
        await driver.say(dan, dan, "/article joint-anti-missile-drills-conclude-in-russia")
    )[0]
    assert by_id["text"] == by_slug["text"]
    assert buttons(by_id) == CARD_BUTTONS


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        (
            "/article",
            "Usage: /article ID_OR_SLUG, e.g. /article 1. Find ids with /latest or /search.",
        ),
        ("/article 999", "No article “999”. Find one with /latest or /search."),
        ("/article <b>x", "No article “&lt;b&gt;x”. Find one with /latest or /search."),
        ("/summary", "Usage: /summary ID, e.g. /summary 1. Find ids with /latest or /search."),
        ("/comments", "Usage: /comments ID [PAGE], e.g. /comments 1 2"),
        ("/comments 1 x", "The page must be a number, e.g. /comments 1 2"),
        ("/comments 77", "No article “77”. Find one with /latest or /search."),
        ("/search", "Usage: /search WORDS, e.g. /search missile drills"),
        ("/search !!!", "Usage: /search WORDS, e.g. /search missile drills"),
        ("/frobnicate", "I don't know that command. /help lists what I can do."),
        (
            "/timeline",
            "Usage: /timeline ID_OR_TOPIC, e.g. /timeline 1. "
            "Topics: aerospace security, china, russia.",
        ),
        (
            "/timeline nowhere",
            "No article or topic “nowhere”. Topics: aerospace security, china, russia.",
        ),
        ("/comment", "Usage: /comment ID TEXT, e.g. /comment 1 Well reported."),
        ("/comment 404 Hello", "No article “404”. Find one with /latest or /search."),
        ("/reply", "Usage: /reply CID TEXT, e.g. /reply 3 I agree."),
        ("/reply x Hello", "Usage: /reply CID TEXT, e.g. /reply 3 I agree."),
        (
            "/delete",
            "Usage: /delete CID, e.g. /delete 3, or /delete in reply to your comment "
            "(your own comments only).",
        ),
        ("/search zzzqqq", "Nothing found for “zzzqqq”."),
    ],
)
async def test_bad_arguments_get_a_short_helpful_reply(
    driver: Driver, command: str, reply: str
) -> None:
    erin = driver.api.user("Erin")
    assert only_text(await driver.say(erin, erin, command)) == reply


async def test_summary(driver: Driver, store: Store) -> None:
    article = await store.article(1)
    assert article is not None
    fay = driver.api.user("Fay")
    text = only_text(await driver.say(fay, fay, "/summary 1"))
    assert text == f"<b>{TITLE}</b>\n\n{html.escape(article.summary)}"


async def test_article_timeline_and_topic_timeline(driver: Driver, store: Store) -> None:
    gus = driver.api.user("Gus")
    events = await store.timeline(1)
    text = only_text(await driver.say(gus, gus, "/timeline 1"))
    assert text.startswith(f"<b>Timeline: {TITLE}</b>\n\n")
    assert text.count(" — ") == len(events)
    topic = (await store.article(1)).tags[0]  # type: ignore[union-attr]
    [params] = sent(await driver.say(gus, gus, f"/timeline {topic}"))
    assert params["text"].startswith(f"<b>Timeline: #{topic}</b>")
    assert f"↳ {TITLE} · /article 1" in params["text"]
    assert buttons(params) == [[("Article 1", "open:1")]]
    unknown = only_text(await driver.say(gus, gus, "/timeline nosuchtopic"))
    assert unknown.startswith("No article or topic “nosuchtopic”.")


async def test_buttons_on_the_card(driver: Driver) -> None:
    hal = driver.api.user("Hal")
    card = sent(await driver.say(hal, hal, "/article 1"))[0]
    card_id = driver.last_id(hal)
    full = await driver.press(hal, card_id, hal, "full:1")
    assert [c.method for c in full] == ["answerCallbackQuery", "sendMessage"]
    full_text = texts(full)[0]
    assert full_text.startswith(f"<b>{TITLE}</b>")
    assert "<b>Third Iteration of Joint Drills</b>" in full_text
    assert "\n• November 2025: Russia and China held talks in Moscow" in full_text
    timeline = await driver.press(hal, card_id, hal, "tl:1")
    assert texts(timeline)[0].startswith(f"<b>Timeline: {TITLE}</b>")
    comments = await driver.press(hal, card_id, hal, "cm:1:1")
    [page] = sent(comments)
    assert page["text"].startswith(f"<b>Comments on {TITLE}</b>\n<i>5 comments · page 1 of 1</i>")
    assert buttons(page) == [[("Comment", "wr:1"), ("Article", "open:1")]]
    assert card["chat_id"] == page["chat_id"] == hal.id


async def test_prev_and_next_edit_the_page_in_place(driver: Driver, store: Store) -> None:
    for n in range(7):
        await store.add_comment(
            article_id=1,
            body=f"extra {n}",
            author="X",
            user_id=50 + n,
            chat_id=50 + n,
            message_id=1,
            visibility="public",
        )
    ivy = driver.api.user("Ivy")
    [page1] = sent(await driver.say(ivy, ivy, "/comments 1"))
    assert "page 1 of 3" in page1["text"]
    assert buttons(page1)[0] == [("Next »", "cp:1:2")]
    message_id = driver.last_id(ivy)
    calls = await driver.press(ivy, message_id, ivy, "cp:1:2")
    [edit] = sent(calls, "editMessageText")
    assert edit["message_id"] == message_id
    assert "page 2 of 3" in edit["text"]
    assert buttons(edit)[0] == [("« Prev", "cp:1:1"), ("Next »", "cp:1:3")]
    assert not sent(calls)  # edited in place, nothing new sent
    page3 = await driver.press(ivy, message_id, ivy, "cp:1:3")
    assert "extra 6" in sent(page3, "editMessageText")[0]["text"]
    [past_the_end] = sent(await driver.say(ivy, ivy, "/comments 1 9"))
    assert "<i>12 comments · page 3 of 3 (there is no page 9)</i>" in past_the_end["text"]


async def test_every_button_press_is_answered_even_when_stale(
    driver: Driver, store: Store
) -> None:
    jo = driver.api.user("Jo")
    await driver.say(jo, jo, "/article 1")
    card_id = driver.last_id(jo)
    async with store.transaction() as db:
        await db.execute("DELETE FROM articles WHERE id = 1")
    for data in ("full:1", "tl:1", "cm:1:1", "wr:1"):
        calls = await driver.press(jo, card_id, jo, data)
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["text"] == "That article is no longer available."


async def test_a_forged_button_gets_a_short_answer(driver: Driver) -> None:
    kim = driver.api.user("Kim")
    chat = driver.api.private_chat(kim)
    await driver.say(kim, kim, "/article 1")
    message = driver.bot_messages(kim)[-1]
    update = driver.api.press_button(chat, message["message_id"], kim, "full:1", queue=False)
    update["callback_query"]["data"] = "evil:payload"
    calls = await driver.feed(update)
    assert [(c.method, c.params.get("text")) for c in calls] == [
        ("answerCallbackQuery", "This button is no longer valid.")
    ]


async def test_search_finds_a_word_that_occurs_only_in_a_comment(driver: Driver) -> None:
    lee = driver.api.user("Lee")
    [params] = sent(await driver.say(lee, lee, "/search escalatory"))
    assert params["text"].startswith("<b>Search: escalatory</b>")
    assert f"1. <b>{TITLE}</b> <i>(in a comment)</i>" in params["text"]
    assert "<b>escalatory</b>" in params["text"]
    assert buttons(params) == [[("Open 1", "open:1")]]
    nothing = only_text(await driver.say(lee, lee, "/search <zebra>"))
    assert nothing == "Nothing found for “&lt;zebra&gt;”."


async def test_group_commands_addressed_to_this_bot_and_not_to_others(driver: Driver) -> None:
    mo = driver.api.user("Mo")
    group = driver.api.group("Desk", supergroup=True)
    mine = await driver.say(group, mo, "/article@NewsTestBot 1")
    [params] = sent(mine)
    assert params["chat_id"] == group.id
    assert params["reply_parameters"]["message_id"] == driver.api.messages(group)[-2]["message_id"]
    assert await driver.say(group, mo, "/article@OtherBot 1") == []
    assert await driver.say(group, mo, "/frobnicate") == []  # may be another bot's
    assert await driver.say(group, mo, "/frobnicate@OtherBot") == []
    unknown = await driver.say(group, mo, "/frobnicate@NewsTestBot")
    assert only_text(unknown) == "I don't know that command. /help lists what I can do."


async def test_forum_topic_replies_stay_in_the_topic(driver: Driver) -> None:
    ned = driver.api.user("Ned")
    forum = driver.api.group("Forum", forum=True)
    topic = driver.api.create_topic(forum, "Drills", by=ned)
    [card] = sent(await driver.say(forum, ned, "/article 1", thread_id=topic))
    assert card["message_thread_id"] == topic
    card_id = driver.last_id(forum)
    [timeline] = sent(await driver.press(forum, card_id, ned, "tl:1"))
    assert timeline["message_thread_id"] == topic


async def test_a_long_article_is_split_into_valid_parts(driver: Driver, store: Store) -> None:
    long_blocks = tuple(
        Block("heading" if n % 10 == 0 else "paragraph", f"<{n}> & " + "text " * 120)
        for n in range(60)
    )
    saved = await store.save_article(
        ParsedArticle(title="Long <read>", blocks=long_blocks, source_key="long", summary="s")
    )
    ola = driver.api.user("Ola")
    await driver.say(ola, ola, f"/article {saved.article_id}")
    card_id = driver.last_id(ola)
    calls = await driver.press(ola, card_id, ola, f"full:{saved.article_id}")
    parts = sent(calls)
    assert len(parts) >= 8
    for part in parts:
        text, _ = parse_html(part["text"])  # valid Telegram HTML
        assert 0 < len(text.encode("utf-16-le")) // 2 <= 4096
    assert all(c.ok for c in calls)


async def test_hostile_titles_and_bodies_come_back_escaped(driver: Driver, store: Store) -> None:
    hostile = "<script>alert(1)</script> & <b>bold</b> <i unclosed \u202e 🎉 " + "x" * 10_000
    saved = await store.save_article(
        ParsedArticle(
            title=hostile[:300],
            blocks=(Block("paragraph", hostile),),
            source_key="evil",
            summary=hostile[:500],
            tags=("<tag>",),
        )
    )
    pat = driver.api.user("Pat")
    for command in (f"/article {saved.article_id}", f"/summary {saved.article_id}"):
        calls = await driver.say(pat, pat, command)
        assert all(c.ok for c in calls), [c.error for c in calls]
        assert "&lt;script&gt;" in texts(calls)[0]
    card_id = driver.bot_messages(pat)[-2]["message_id"]
    calls = await driver.press(pat, card_id, pat, f"full:{saved.article_id}")
    assert all(c.ok for c in calls) and len(sent(calls)) >= 3


async def test_a_long_topic_timeline_shows_its_latest_events(driver: Driver, store: Store) -> None:
    for year in (1950, 2000):
        events = tuple(
            TimelineEvent(f"{year + n:04d}", "year", f"Event of {year + n}", "...")
            for n in range(25)
        )
        await store.save_article(
            ParsedArticle(
                title=f"Chronicle from {year}",
                blocks=(Block("paragraph", "A long chronicle."),),
                source_key=f"text:chronicle {year}",
                tags=("chronicles",),
                summary="A long chronicle.",
                timeline=events,
            )
        )
    ivy = driver.api.user("Ivy")
    [params] = sent(await driver.say(ivy, ivy, "/timeline #Chronicles"))
    lines = params["text"].split("\n")
    assert lines[:3] == ["<b>Timeline: #chronicles</b>", "<i>the latest 40 events</i>", ""]
    dates = [line.split("</b>")[0].removeprefix("<b>") for line in lines[3::2]]
    assert dates == [str(year) for year in (*range(1960, 1975), *range(2000, 2025))]
    # The buttons open the articles behind the newest events first.
    assert buttons(params) == [[("Article 3", "open:3"), ("Article 2", "open:2")]]


async def test_a_hashtag_from_a_card_opens_its_topic_timeline(driver: Driver) -> None:
    jay = driver.api.user("Jay")
    card = only_text(await driver.say(jay, jay, "/article 1"))
    assert "#aerospace_security" in card
    text = only_text(await driver.say(jay, jay, "/timeline #aerospace_security"))
    assert text.startswith("<b>Timeline: #aerospace_security</b>\n\n")


async def test_long_lists_and_summaries_are_sent_in_parts_telegram_accepts(
    driver: Driver, store: Store
) -> None:
    """Twenty long titles, or a summary as long as a JSON Lines import may carry."""
    title = "Talks on the bridge over the strait, the tariffs and the harbour " * 3
    for n in range(20):
        await store.save_article(
            ParsedArticle(
                title=f"{n} {title}".strip(),
                blocks=(Block("paragraph", "Body."),),
                source_key=f"long{n}",
                summary="Word " * 2_000,
            )
        )
    pat = driver.api.user("Pat")
    calls = await driver.say(pat, pat, "/latest 20")
    assert [c.method for c in calls] == ["sendMessage", "sendMessage"]
    assert all(c.ok for c in calls)
    first, last = sent(calls)
    assert first["text"].startswith("<b>Latest articles</b>\n\n1. 19 Talks")
    assert "reply_markup" not in first
    assert sum(len(row) for row in buttons(last)) == 20
    calls = await driver.say(pat, pat, "/summary 21")
    assert len(calls) == 3 and all(c.ok for c in calls)
    [card] = sent(await driver.say(pat, pat, "/article 21"))
    assert "…\n\n💬 0 comments · id 21" in card["text"]


async def test_a_timeline_shows_the_day_a_relative_date_resolved_to(
    driver: Driver, store: Store
) -> None:
    pier = ParsedArticle(
        title="Pier <Closes>",
        blocks=(Block("paragraph", "The pier closed on Tuesday. Repairs began last month."),),
        source_key="text:pier closes",
        published_at="2026-03-12T08:00:00Z",
    )
    saved = await store.save_article(enrich(pier))
    ivy = driver.api.user("Ivy")
    text = only_text(await driver.say(ivy, ivy, f"/timeline {saved.article_id}"))
    assert text == (
        "<b>Timeline: Pier &lt;Closes&gt;</b>\n\n"
        "<b>February 2026</b> — Repairs began last month\n"
        "<b>Tuesday, 10 March 2026</b> — The pier closed on Tuesday"
    )
