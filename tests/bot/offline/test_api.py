"""The method table: what the stand-in answers, and what it does not know."""

from __future__ import annotations

import pytest
from telegram.error import EndPointNotFound

from bot.offline import OfflineBotAPI
from tests.bot.offline.conftest import App


async def test_unknown_method_is_404_logged_and_fails_the_check(
    api: OfflineBotAPI, app: App
) -> None:
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": 1})

    (call,) = api.unknown_calls
    assert call.method == "sendTeleportation" and call.params == {"chat_id": 1}
    assert call.error is not None and call.error.description == "Not Found"
    with pytest.raises(AssertionError, match="does not implement: sendTeleportation"):
        api.check_methods_known()
    api.clear_calls()  # this test made the call on purpose


async def test_known_methods_pass_the_check(api: OfflineBotAPI, app: App) -> None:
    await app.bot.get_me()
    await app.bot.get_updates()

    api.check_methods_known()
