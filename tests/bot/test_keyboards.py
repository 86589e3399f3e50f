"""The callback_data codec: small, strict, and under 64 bytes."""

from __future__ import annotations

import pytest

from bot import keyboards
from storage.models import ArticleLine


def test_round_trip_and_size() -> None:
    data = keyboards.encode(keyboards.PAGE, 2**62, 10_000)
    assert len(data.encode()) <= 64
    assert keyboards.decode(data) == keyboards.ButtonData(keyboards.PAGE, (2**62, 10_000))


@pytest.mark.parametrize(
    "data", [None, "", "nope", "cp:1", "cp:1:x", "open:-1", "open:1:2", "wr:" + "9" * 80]
)
def test_foreign_or_stale_data_is_refused(data: str | None) -> None:
    assert keyboards.decode(data) is None


def test_card_buttons() -> None:
    markup = keyboards.article_buttons(12, 5)
    texts = [[b.text for b in row] for row in markup.inline_keyboard]
    assert texts == [["Full text", "Timeline"], ["Comments (5)", "Comment"]]
    assert keyboards.reply_target(markup) == keyboards.ButtonData(keyboards.WRITE, (12,))


def test_encode_refuses_unknown_actions() -> None:
    with pytest.raises(ValueError):
        keyboards.encode("zz", 1)


def test_a_keyboard_kept_as_json_is_what_the_bot_api_is_sent() -> None:
    lines = [ArticleLine(n, f"a{n}", f"Title {n}", None, "2024-01-01T00:00:00Z") for n in (1, 2)]
    every = [
        keyboards.article_buttons(7, 3),
        keyboards.page_buttons(7, 2, 3),
        keyboards.comment_buttons(7, 12),
        keyboards.retry_button(7, None),
        keyboards.retry_button(7, 12),
        keyboards.open_in_bot("NewsBot", 7),
        keyboards.channel_buttons("NewsBot", 7, 3),
        keyboards.latest_buttons(lines),
        keyboards.open_buttons([7, 8], by_id=True),
    ]
    for markup in every:
        assert markup is not None
        assert keyboards.as_json(markup) == markup.to_dict()
