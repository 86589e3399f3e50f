"""Rendering is pure: models in, escaped HTML out, split below Telegram's limit."""

from __future__ import annotations

import dataclasses
import re

from bot import render
from bot.render import Line, split_message, utf16_len
from storage.models import (
    Article,
    ArticleLine,
    Block,
    Comment,
    CommentPage,
    SearchHit,
    TimelineEvent,
)

HOSTILE = '<script>alert("x")</script> & <b>bold</b> <i unclosed \u202e RTL 🎉'


def make_article(title: str = HOSTILE, blocks: tuple[Block, ...] = ()) -> Article:
    return Article(
        id=7,
        slug="s",
        title=title,
        blocks=blocks,
        source="Desk & Co",
        url=None,
        published_at="2025-12-03T10:00:00Z",
        imported_at="2025-12-04T00:00:00Z",
        summary=HOSTILE,
        tags=("world news", "china"),
        content_key="k",
    )


def plain(html_text: str) -> str:
    """What Telegram would count: tags removed, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def test_card_escapes_every_supplied_value() -> None:
    card = render.article_card(make_article(), 3)
    assert "<script>" not in card
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in card
    )
    assert "Desk &amp; Co" in card
    assert "3 December 2025" in card
    assert "💬 3 comments" in card
    assert "#world_news #china" in card
    assert re.sub(r"</?(b|i)>", "", card).count("<") == 0


def test_full_text_bolds_headings_bullets_items_and_splits_long_articles() -> None:
    blocks = (
        Block("paragraph", "Intro & more."),
        Block("heading", "A <Heading>"),
        Block("bullet", "one"),
        Block("bullet", "two"),
        *(Block("paragraph", f"Paragraph {n} " + "word " * 300) for n in range(12)),
    )
    parts = render.full_text(make_article("Long", blocks))
    assert len(parts) > 1
    assert parts[0].startswith("<b>Long</b>")
    assert "<b>A &lt;Heading&gt;</b>" in parts[0]
    assert "• one\n• two" in parts[0]
    for part in parts:
        assert utf16_len(plain(part)) <= 4096
        assert part.count("<b>") == part.count("</b>")
    joined = " ".join(plain(p) for p in parts)
    for n in range(12):
        assert f"Paragraph {n} " in joined


def test_a_single_huge_line_is_cut_at_spaces_and_never_inside_an_entity() -> None:
    text = "&<> " * 3000  # 12,000 characters, 24,000+ once escaped
    parts = split_message([Line(text)])
    assert len(parts) >= 3
    for part in parts:
        assert utf16_len(plain(part)) <= 4096
        assert not re.search(r"&(?!amp;|lt;|gt;|quot;|#x27;)", part)
    assert "".join(plain(p).replace(" ", "") for p in parts) == "&<>" * 3000


def test_emoji_count_as_two_utf16_units() -> None:
    parts = split_message([Line("🎉" * 3000)])
    assert len(parts) == 2
    assert all(utf16_len(plain(p)) <= 4096 for p in parts)


def test_event_dates_keep_their_precision() -> None:
    def event(date: str, precision: str, qualifier: str | None = None) -> TimelineEvent:
        return TimelineEvent(date, precision, "x", "x", qualifier)  # type: ignore[arg-type]

    assert render.event_date(event("2016-05", "month")) == "May 2016"
    assert render.event_date(event("2022", "year")) == "2022"
    assert render.event_date(event("2025-12", "month", "early")) == "Early December 2025"
    assert render.event_date(event("2025-12-03", "day")) == "Wednesday, 3 December 2025"
    assert render.event_date(event("2026-03-09", "day", "week")) == "Week of 9 March 2026"


def test_a_relative_date_is_shown_as_the_day_it_resolved_to_in_date_order() -> None:
    def event(date: str, precision: str, label: str) -> TimelineEvent:
        return TimelineEvent(date, precision, label, label)  # type: ignore[arg-type]

    article = make_article("Budget & vote")
    events = [
        event("2026-02", "month", "Prices rose last month"),
        event("2026-03-10", "day", "The council voted on Tuesday"),
    ]
    [text] = render.timeline_text(article, events)
    assert text == (
        "<b>Timeline: Budget &amp; vote</b>\n\n"
        "<b>February 2026</b> — Prices rose last month\n"
        "<b>Tuesday, 10 March 2026</b> — The council voted on Tuesday"
    )


def test_comments_page_nests_replies_and_shows_placeholders() -> None:
    def comment(cid: int, depth: int, status: str = "visible", body: str = "b") -> Comment:
        return Comment(
            id=cid,
            article_id=1,
            parent_id=None,
            author="<Ann>",
            user_id=None,
            origin="chat",
            chat_id=None,
            message_id=None,
            visibility="public",
            body=body,
            created_at="2025-12-03T10:00:00Z",
            edited_at=None,
            status=status,  # type: ignore[arg-type]
            depth=depth,
        )

    page = CommentPage(1, "T & T", 1, 2, 3, (comment(1, 0, "deleted"), comment(2, 1, body="x<y")))
    text = render.comments_text(page)[0]
    assert text.startswith("<b>Comments on T &amp; T</b>\n<i>3 comments · page 1 of 2</i>")
    assert "<i>#1 [deleted by its author]</i>" in text
    assert "    ↳ <b>&lt;Ann&gt;</b>" in text
    assert "x&lt;y" in text


def test_search_snippets_are_escaped_then_highlighted() -> None:
    hit = SearchHit(1, "T<", "before \x02<word>\x03 after", in_comment=True)
    [text] = render.search_text("<word>", [hit])
    assert text == (
        "<b>Search: &lt;word&gt;</b>\n\n1. <b>T&lt;</b> <i>(in a comment)</i>\n"
        "    before <b>&lt;word&gt;</b> after"
    )
    assert render.search_text("zz<", []) == ["Nothing found for “zz&lt;”."]


def test_cards_lists_and_results_fit_telegrams_limit_whatever_the_text() -> None:
    """Titles, summaries and snippets of any length, in letters that count double."""
    wide = "𝐁𝐫𝐞𝐚𝐤𝐢𝐧𝐠 𝐳𝐞𝐛𝐫𝐚 " * 400  # two UTF-16 units a letter
    article = dataclasses.replace(
        make_article(title=wide), source=wide, summary=wide * 3, tags=(wide, "b")
    )
    card = render.article_card(article, 2)
    assert utf16_len(plain(card)) <= 4096
    assert card.startswith("<b>𝐁𝐫𝐞𝐚𝐤𝐢𝐧𝐠 𝐳𝐞𝐛𝐫𝐚")
    assert card.endswith(
        "…\n\n💬 2 comments · id 7\n" + render.fit(render.hashtag(wide), 60) + " #b"
    )
    lines = [ArticleLine(n, "s", wide, None, "2025-12-01T00:00:00Z") for n in range(1, 21)]
    hits = [SearchHit(n, wide, f"\x02{wide}\x03", in_comment=True) for n in range(1, 9)]
    for parts in (
        render.summary_text(article),
        render.latest_text(lines),
        render.search_text(wide, hits),
    ):
        assert len(parts) > 1
        assert all(utf16_len(plain(part)) <= 4096 for part in parts)


def test_a_line_of_decoration_alone_still_fits_or_starts_a_message() -> None:
    parts = split_message([Line("a" * 4000), Line("", prefix="b" * 300, prefix_plain="b" * 300)])
    assert [utf16_len(plain(part)) for part in parts] == [4000, 300]
    assert render.fit("abc", 0) == "" and render.fit("😀", 1) == "…"
    assert render.fit("abc", 3) == "abc" and utf16_len(render.fit("😀😀 😀😀", 5)) <= 5
