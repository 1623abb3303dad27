"""`Emulator`: every piece of state of the emulated Telegram, in memory, on one event loop."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from tgemu.errors import CHAT_NOT_FOUND, ApiError
from tgemu.limits import FaultInjector, RateLimiter, Stats
from tgemu.models import (
    BOT,
    CallbackRec,
    ChatRec,
    FileRec,
    InvoiceRec,
    MessageRec,
    PaymentRec,
    UserRec,
)
from tgemu.stars import StarLedger

_TOKEN = re.compile(r"^(\d+):[A-Za-z0-9_-]+$")
_INVOICE_FIELDS = ("title", "description", "start_parameter", "currency", "total_amount")
# Telegram's default when allowed_updates was never given (or given empty): every type but
# these. `subscription` (Bot API 10.2) is not among them, so the default delivers it.
DEFAULT_UPDATE_TYPES_EXCLUDED = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


class Emulator:
    """All emulated Telegram state. Mutations are synchronous; waiters use `wait_until`."""

    def __init__(
        self,
        token: str = "123456789:SANDBOX-emulator-token",
        *,
        bot_username: str = "signaldesk_bot",
        bot_first_name: str = "SignalDesk",
        clock: Callable[[], float] = time.time,
    ) -> None:
        match = _TOKEN.match(token)
        if match is None:
            msg = f"token must look like '<digits>:<secret>', got {token!r}"
            raise ValueError(msg)
        self.token = token
        self.bot_id = int(match.group(1))
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.clock = clock
        self.closing = False
        self._changed = asyncio.Event()
        self.users_version = 0  # bumped whenever a user is added or changed (the page follows)
        self.users: dict[int, UserRec] = {}
        self.chats: dict[int, ChatRec] = {}
        self.limits = RateLimiter()
        self.reset(users=True)

    def reset(self, *, users: bool = False) -> None:
        """Forget runtime state; keep users and chats (their members) unless `users`."""
        if users:
            self.users.clear()
            self.chats.clear()
            self.users_version += 1
        for chat in self.chats.values():
            chat.next_message_id = 1
            chat.banned.clear()
            chat.invite_links.clear()
            chat.join_requests.clear()
            chat.joined_via.clear()
        self.messages: dict[int, dict[int, MessageRec]] = {}
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.seq = 0
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1
        self.last_delivered_id = 0
        self.allowed_updates: set[str] | None = None
        self.poll_generation = 0
        self.webhook: dict[str, Any] = {}
        self.webhook_log: list[dict[str, Any]] = []
        self.callbacks: dict[str, CallbackRec] = {}
        self.pre_checkouts: dict[str, dict[str, Any]] = {}
        self.invoice_links: dict[str, InvoiceRec] = {}
        self.invoices: dict[tuple[int, int], InvoiceRec] = {}
        self.payments: dict[str, PaymentRec] = {}
        self.stars = StarLedger()
        self.files: dict[str, FileRec] = {}
        self.commands: dict[tuple[tuple[Any, ...], str], list[dict[str, str]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.blocked: set[int] = set()
        self.limits.reset()
        self.faults = FaultInjector()
        self.stats = Stats()
        self.notify()

    # -- waiting -------------------------------------------------------------------------
    def notify(self) -> None:
        """Wake every `wait_until` so it re-checks its condition."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until `predicate()` holds (True) or `timeout_s` pass or shutdown starts (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        while not predicate():
            remaining = deadline - loop.time()
            if self.closing or remaining <= 0:
                return False
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue
        return True

    def close(self) -> None:
        self.closing = True
        self.notify()

    # -- identity, users, chats ------------------------------------------------------------
    def now(self) -> int:
        return int(self.clock())

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def add_user(self, user_id: int, first_name: str, **fields: Any) -> UserRec:
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = UserRec(id=user_id, first_name=first_name)
        user.first_name = first_name
        for key, value in fields.items():
            setattr(user, key, value)
        chat = self.chats.get(user_id) or ChatRec(id=user_id, type="private")
        chat.first_name, chat.last_name, chat.username = first_name, user.last_name, user.username
        chat.members = {user_id}
        self.chats[user_id] = chat
        self.users_version += 1
        self.notify()
        return user

    def update_user(self, user_id: int, **fields: Any) -> UserRec:
        """Change a user's fields (e.g. the persona `label` after a role change)."""
        user = self.users[user_id]
        for key, value in fields.items():
            setattr(user, key, value)
        self.users_version += 1
        self.notify()
        return user

    def add_chat(self, chat_id: int, chat_type: str, title: str, **fields: Any) -> ChatRec:
        chat = self.chats.get(chat_id) or ChatRec(id=chat_id, type=chat_type)
        chat.type, chat.title = chat_type, title
        for key, value in fields.items():
            setattr(chat, key, value)
        self.chats[chat_id] = chat
        self.notify()
        return chat

    def chat(self, ref: int | str | None) -> ChatRec:
        """Resolve a chat_id (int, numeric string or @username) or raise "chat not found"."""
        if isinstance(ref, str) and ref.startswith("@"):
            name = ref[1:].lower()
            for chat in self.chats.values():
                if chat.type != "private" and (chat.username or "").lower() == name:
                    return chat
            raise ApiError(400, CHAT_NOT_FOUND)
        try:
            return self.chats[int(ref)]  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, CHAT_NOT_FOUND) from None

    # -- transcripts ------------------------------------------------------------------------
    def add_event(self, chat_id: int, kind: str, **data: Any) -> dict[str, Any]:
        self.seq += 1
        event = {"seq": self.seq, "type": kind, "chat_id": chat_id, "date": self.now(), **data}
        self.events.setdefault(chat_id, []).append(event)
        self.notify()
        return event

    def events_after(self, chat_id: int, after_seq: int) -> list[dict[str, Any]]:
        return [e for e in self.events.get(chat_id, []) if e["seq"] > after_seq]

    def add_message(self, chat: ChatRec, sender: int | str, **fields: Any) -> MessageRec:
        msg = MessageRec(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            date=self.now(),
            sender=sender,
            **fields,
        )
        chat.next_message_id += 1
        self.messages.setdefault(chat.id, {})[msg.message_id] = msg
        self.add_event(chat.id, "message", message=msg.control(self.files))
        return msg

    def find_message(self, chat_id: int, message_id: int | None) -> MessageRec | None:
        msg = self.messages.get(chat_id, {}).get(message_id or 0)
        return None if msg is None or msg.deleted else msg

    def edit_message(self, msg: MessageRec, **changes: Any) -> None:
        msg.edits.append({"date": msg.edit_date or msg.date, **msg.content()})
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edit_date = self.now()
        self.add_event(msg.chat_id, "edited", message=msg.control(self.files))

    def delete_message(self, msg: MessageRec) -> None:
        msg.deleted = True
        self.add_event(
            msg.chat_id, "deleted", message_id=msg.message_id, message=msg.control(self.files)
        )

    def message_api(self, msg: MessageRec, *, nested: bool = True) -> dict[str, Any]:
        """`msg` shaped like the Bot API's Message object."""
        chat = self.chats[msg.chat_id]
        data: dict[str, Any] = {"message_id": msg.message_id, "date": msg.date}
        if chat.type == "channel":
            data["sender_chat"] = chat.api()
        elif msg.from_bot:
            data["from"] = self.bot_user()
        else:
            user = self.users.get(int(msg.sender))
            data["from"] = (
                user.api() if user else {"id": msg.sender, "is_bot": False, "first_name": "?"}
            )
        data["chat"] = chat.api()
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        self._message_content_api(msg, data)
        reply = self.find_message(msg.chat_id, msg.reply_to_message_id) if nested else None
        if reply is not None:
            data["reply_to_message"] = self.message_api(reply, nested=False)
        return data

    def _message_content_api(self, msg: MessageRec, data: dict[str, Any]) -> None:
        if msg.text is not None:
            data["text"] = msg.text
            if msg.entities:
                data["entities"] = msg.entities
        if msg.caption is not None:
            data["caption"] = msg.caption
            if msg.caption_entities:
                data["caption_entities"] = msg.caption_entities
        if msg.photo and msg.photo in self.files:
            data["photo"] = self.files[msg.photo].api_photo()
        if msg.document and msg.document in self.files:
            data["document"] = self.files[msg.document].api_document()
        if msg.invoice is not None:
            data["invoice"] = {key: msg.invoice[key] for key in _INVOICE_FIELDS}
        for key in ("successful_payment", "refunded_payment"):
            if (value := getattr(msg, key)) is not None:
                data[key] = value
        if msg.attachment:
            data.update(msg.attachment)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup

    # -- updates ----------------------------------------------------------------------------
    def enqueue(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for the bot; None if `allowed_updates` filters it out."""
        allowed = self.allowed_updates
        if (allowed and kind not in allowed) or (
            not allowed and kind in DEFAULT_UPDATE_TYPES_EXCLUDED
        ):
            self.stats.updates_dropped += 1
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, kind: payload})
        self.stats.updates_queued += 1
        self.notify()
        return update_id

    def confirm_updates(self, offset: int) -> None:
        """getUpdates' `offset`: forget every update with a smaller id (negative: keep last -N)."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    # -- ids and files ---------------------------------------------------------------------
    @staticmethod
    def new_id(prefix: str = "") -> str:
        return prefix + secrets.token_urlsafe(12)

    def new_callback(self, **fields: Any) -> CallbackRec:
        callback = CallbackRec(id=str(secrets.randbits(62)), **fields)
        self.callbacks[callback.id] = callback
        return callback

    def store_file(self, kind: str, **fields: Any) -> FileRec:
        prefix = "AgAC" if kind == "photo" else "BQAC"
        rec = FileRec(
            file_id=self.new_id(prefix),
            file_unique_id=self.new_id("AQAD")[:16],
            kind=kind,
            **fields,
        )
        self.files[rec.file_id] = rec
        return rec

    def record_payment(self, payment: PaymentRec) -> None:
        self.payments[payment.charge_id] = payment
        self.notify()

    def invoice_for(self, chat_id: int, message_id: int) -> InvoiceRec | None:
        return self.invoices.get((chat_id, message_id))


__all__ = ["BOT", "Emulator"]
