"""Telegram's text rules: the HTML parse mode, UTF-16 offsets, length and entity checks."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import MessageEntity
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.offline import EntityParseError, OfflineBotAPI, OfflineChat, parse_html, utf16_len
from tests.bot.offline.conftest import App


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
