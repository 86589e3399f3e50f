"""Terminal rendering of messages (``newsbot chat``)."""

from __future__ import annotations

import pytest

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser, parse_html
from bot.terminal import format_message
from tests.bot.offline.conftest import App, process


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
