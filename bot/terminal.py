"""``newsbot chat``: the real bot in a terminal, on the offline Bot API, on the local database.

Lines are what a reader types. A few start with ``:`` or ``#`` and act instead:

    #N            press button N of the newest message with buttons
    #M.N          press button N of message M
    :reply M TEXT send TEXT as a reply to message M
    :edit TEXT    edit your last message to TEXT (:edit M TEXT edits message M)
    :channel      read as a channel's subscriber: the newest article is published in the
                  channel “Newsroom”, and you move to its discussion group, where a
                  :reply to the post is a comment on the article
    :help         this list
    :quit         leave (so does end of input)

When the bot asked for text with a prompt (ForceReply), the next plain line
answers that prompt, as a Telegram client would.
"""

from __future__ import annotations

import asyncio
import html
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, TextIO

from telegram import Update

from bot.app import build_application, open_store
from bot.config import Settings
from bot.handlers.channels import connect_channel, publish_card
from bot.offline import ApiCall, OfflineBotAPI, OfflineChat, OfflineRequest
from bot.offline.entities import utf16_to_index
from storage import Store

# The keys, as the module's docstring lists them (its paragraphs after the first).
COMMANDS_HELP = "\n\n".join(__doc__.split("\n\n")[1:]).rstrip() if __doc__ else ""
PROMPT = "you> "

_MARKS: Final = {"bold": "*", "italic": "_", "code": "`", "strikethrough": "~"}


def format_message(message: Mapping[str, Any], *, marks: bool = False) -> str:
    """A message as terminal text: its plain text, then its inline buttons numbered by row.

    With ``marks``, bold/italic/code/strikethrough are wrapped in ``* _ ` ~`` and text links
    get their URL in angle brackets after the linked words.
    """
    text = str(message.get("text") or message.get("caption") or "")
    if marks and text:
        text = _apply_marks(text, message.get("entities", []))
    lines = [text] if text else []
    if not text and "forum_topic_created" in message:
        lines.append(f"(topic created: {message['forum_topic_created'].get('name', '')})")
    if not text and "new_chat_members" in message:
        names = ", ".join(m.get("first_name", "") for m in message["new_chat_members"])
        lines.append(f"({names} joined)")
    number = 0
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        cells = []
        for button in row:
            number += 1
            cell = f"[{number}] {button.get('text', '')}"
            if "url" in button:
                cell += f" <{button['url']}>"
            cells.append(cell)
        lines.append("  ".join(cells))
    return "\n".join(lines)


def _apply_marks(text: str, entities: Iterable[Mapping[str, Any]]) -> str:
    """Insert simple marks at entity boundaries (UTF-16 offsets)."""
    index = utf16_to_index(text)
    inserts: list[tuple[int, int, str]] = []  # (str index, order, mark)
    last = len(index) - 1
    for order, entity in enumerate(entities):
        start = index[min(entity["offset"], last)]
        end = index[min(entity["offset"] + entity["length"], last)]
        kind = entity["type"]
        if kind in _MARKS:
            inserts.append((start, order, _MARKS[kind]))
            inserts.append((end, -order, _MARKS[kind]))
        elif kind == "text_link":
            inserts.append((end, -order, f" <{entity['url']}>"))
    result = text
    for position, _, mark in sorted(inserts, key=lambda item: (item[0], item[1]), reverse=True):
        result = result[:position] + mark + result[position:]
    return result


class Transcript:
    """Prints the bot's side of the conversation as it happens."""

    def __init__(self, api: OfflineBotAPI, chat: OfflineChat, out: TextIO) -> None:
        self.api = api
        self.chat = chat
        self.out = out
        self.last_with_buttons: int | None = None
        self.awaiting_reply_to: int | None = None
        self.last_own_message: int | None = None
        self.channel: OfflineChat | None = None
        self.echo = True

    def __call__(self, call: ApiCall) -> None:
        if not call.ok:
            if call.error is not None:
                self.write(f"  (the Bot API refused {call.method}: {call.error.description})")
            return
        method = call.method.lower()
        if method in ("sendmessage", "editmessagetext") and isinstance(call.result, dict):
            self.show(call.result, edited=method == "editmessagetext")
        elif method == "answercallbackquery" and call.params.get("text"):
            self.write(f"  (notice: {call.params['text']})")

    def show(self, message: dict[str, Any], *, edited: bool) -> None:
        """Print one bot message with its id and numbered buttons."""
        where = message.get("chat", {}).get("id")
        in_channel = self.channel is not None and where == self.channel.id
        if where != self.chat.id and not in_channel:
            return
        message_id = int(message["message_id"])
        label = ("channel" if in_channel else "bot") + f" [{message_id}]"
        label += " (edited)" if edited else ""
        body = format_message(message, marks=True)
        self.write(f"{label}:\n" + "\n".join(f"  {line}" for line in body.splitlines()))
        markup = message.get("reply_markup") or {}
        if markup.get("inline_keyboard"):
            self.last_with_buttons = message_id
        if markup.get("force_reply"):
            self.awaiting_reply_to = message_id

    def write(self, text: str) -> None:
        """Print a line of the transcript."""
        print(text, file=self.out, flush=True)


async def _lines(script: str | None, interactive: bool) -> AsyncIterator[str]:
    """Lines from a script file, standard input, or the keyboard."""
    if script is not None:
        stream = sys.stdin if script == "-" else None
        text = stream.read() if stream else await asyncio.to_thread(Path(script).read_text)
        for line in text.splitlines():
            yield line
        return
    while True:
        try:
            line = await asyncio.to_thread(input, PROMPT if interactive else "")
        except EOFError:
            return
        yield line


async def run_chat(
    settings: Settings,
    *,
    script: str | None = None,
    group: bool = False,
    out: TextIO | None = None,
) -> int:
    """Talk to the real bot through the offline Bot API; returns the exit status."""
    out = out or sys.stdout
    if script not in (None, "-") and not Path(script).is_file():  # noqa: ASYNC240
        print(f"newsbot: no such script file: {script}", file=sys.stderr)
        return 2
    api = OfflineBotAPI(username="NewsroomBot", first_name="Newsroom")
    store = await Store.open(settings.db_path)
    app = build_application(settings, request=OfflineRequest(api), store=store)
    you = api.user("You", username="reader")
    chat = api.group("Newsroom discussion", owner=you) if group else api.private_chat(you)
    if group:
        api.set_admins(chat, you, owner=you)
    api.continue_chat(chat, await store.last_message_id(chat.id))
    transcript = Transcript(api, chat, out)
    interactive = script is None and sys.stdin.isatty()
    transcript.echo = not interactive
    api.add_listener(transcript)
    try:
        async with app:
            await open_store(app)
            where = "the group “Newsroom discussion”" if group else "a private chat"
            transcript.write(
                f"newsbot chat: you are {you.full_name} in {where} with @{api.bot_user.username}"
                f", database {settings.db_path}. Type /help, or :help for the terminal keys."
            )
            async for line in _lines(script, interactive):
                if not await _handle(
                    line.rstrip("\n"), api, app, transcript.chat, you, transcript
                ):
                    break
    finally:
        await store.close()
    return 0


async def _handle(
    line: str,
    api: OfflineBotAPI,
    app: Any,
    chat: OfflineChat,
    you: Any,
    transcript: Transcript,
) -> bool:
    """Act on one typed line; False ends the session."""
    text = line.strip()
    if not text:
        return True
    if transcript.echo:
        transcript.write(PROMPT + text)
    if text in (":quit", ":q", ":exit"):
        return False
    if text == ":help":
        transcript.write(COMMANDS_HELP)
        return True
    if text == ":channel":
        await _read_channel(api, app, you, transcript)
        return True
    try:
        update = _update_for(text, api, chat, you, transcript)
    except (LookupError, ValueError, PermissionError) as exc:
        transcript.write(f"  ({exc})")
        return True
    if update is not None:
        message = update.get("message") or update.get("edited_message")
        if message is not None and "edited_message" not in update:
            transcript.last_own_message = int(message["message_id"])
        await app.process_update(Update.de_json(update, app.bot))
    return True


def _update_for(
    text: str, api: OfflineBotAPI, chat: OfflineChat, you: Any, transcript: Transcript
) -> dict[str, Any] | None:
    if text.startswith("#"):
        target, _, number = text[1:].rpartition(".")
        message_id = int(target) if target else transcript.last_with_buttons
        if message_id is None:
            raise LookupError("no message with buttons yet")
        if not number.isdecimal():
            raise ValueError("press a button as #N or #MESSAGE.N")
        return api.press_button_number(chat, message_id, you, int(number), queue=False)
    if text.startswith(":reply "):
        _, target, *rest = text.split(maxsplit=2)
        if not target.isdecimal() or not rest:
            raise ValueError("usage: :reply MESSAGE_ID TEXT")
        return api.send_text(chat, you, rest[0], reply_to=int(target), queue=False)
    if text.startswith(":edit "):
        _, first, *rest = text.split(maxsplit=2)
        if first.isdecimal() and rest:
            return api.edit_text(chat, int(first), you, rest[0], queue=False)
        if transcript.last_own_message is None:
            raise LookupError("you have sent nothing to edit yet")
        new_text = text.split(maxsplit=1)[1]
        return api.edit_text(chat, transcript.last_own_message, you, new_text, queue=False)
    if text.startswith(":"):
        raise ValueError(f"unknown key {text.split()[0]}; :help lists them")
    reply_to = None
    if transcript.awaiting_reply_to is not None and not text.startswith("/"):
        reply_to, transcript.awaiting_reply_to = transcript.awaiting_reply_to, None
    return api.send_text(chat, you, text, reply_to=reply_to, queue=False)


async def _read_channel(api: OfflineBotAPI, app: Any, you: Any, transcript: Transcript) -> None:
    """Publish the newest article in a channel and move to its discussion group."""
    store = app.bot_data.open_store()
    if transcript.channel is None:
        channel = api.channel("Newsroom", username="newsroom_channel", owner=you)
        group = api.group("Newsroom Chat", supergroup=True, owner=you)
        api.set_admins(group, api.bot_user, you, owner=you)
        api.link_discussion(channel, group)
        transcript.channel = channel
        transcript.write(
            "  (" + html.unescape(await connect_channel(app.bot, store, channel.id)) + ")"
        )
        transcript.chat = group
    newest = await store.latest(1)
    if not newest:
        transcript.write("  (no article to publish yet)")
        return
    await publish_card(app.bot, store, transcript.channel.id, newest[0].id)
    for update in api.take_updates():  # the card's automatic forward into the discussion
        await app.process_update(Update.de_json(update, app.bot))
        forward = update.get("message", {})
        if forward.get("is_automatic_forward"):
            transcript.write(
                f"discussion [{forward['message_id']}] (the post, forwarded by Telegram): "
                f"reply with :reply {forward['message_id']} TEXT to comment on it"
            )
