"""In-memory records of the emulator and their Bot API / control API JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BOT = "bot"


@dataclass
class UserRec:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    label: str | None = None
    is_premium: bool = False
    started: bool = True  # False: the user never opened the bot (sends get 403)

    def api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        if self.is_premium:
            data["is_premium"] = True
        return data

    def control(self) -> dict[str, Any]:
        return {**self.api(), "label": self.label, "started": self.started}


@dataclass
class ChatRec:
    id: int
    type: str  # private | group | supergroup | channel
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    banned: dict[int, int] = field(default_factory=dict)  # user id -> until_date (0 = forever)
    bot_is_admin: bool = True
    next_message_id: int = 1
    invite_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The bot's administrator rights (tgemu.members.ADMIN_RIGHTS); None: every right.
    bot_rights: dict[str, bool] | None = None
    join_requests: dict[int, dict[str, Any]] = field(default_factory=dict)  # user id -> request
    joined_via: dict[int, str] = field(default_factory=dict)  # member id -> invite link used

    def api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    def control(self) -> dict[str, Any]:
        return {
            **self.api(),
            "members": sorted(self.members),
            "admins": sorted(self.admins),
            "banned": sorted(self.banned),
            "bot_is_admin": self.bot_is_admin,
        }

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup", "channel")


@dataclass
class FileRec:
    file_id: str
    file_unique_id: str
    kind: str  # photo | document
    data: bytes | None = None
    url: str | None = None
    mime_type: str = "application/octet-stream"
    file_name: str | None = None
    width: int = 0
    height: int = 0

    @property
    def file_path(self) -> str:
        folder = "photos" if self.kind == "photo" else "documents"
        return f"{folder}/{self.file_unique_id}_{self.file_name or 'file'}"

    def api_file(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.data is not None:
            data["file_size"] = len(self.data)
            data["file_path"] = self.file_path
        return data

    def api_photo(self) -> list[dict[str, Any]]:
        size = {**self.api_file(), "width": self.width, "height": self.height}
        size.pop("file_path", None)
        return [size]

    def api_document(self) -> dict[str, Any]:
        data = self.api_file()
        data.pop("file_path", None)
        data["mime_type"] = self.mime_type
        if self.file_name:
            data["file_name"] = self.file_name
        return data


@dataclass
class MessageRec:
    chat_id: int
    message_id: int
    date: int
    sender: int | str  # BOT or a user id
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None
    raw_text: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    photo: str | None = None
    document: str | None = None
    invoice: dict[str, Any] | None = None
    successful_payment: dict[str, Any] | None = None
    refunded_payment: dict[str, Any] | None = None
    attachment: dict[str, Any] | None = None  # {kind: Bot API object}: sticker, voice, poll...
    edits: list[dict[str, Any]] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    disable_notification: bool = False  # sent silently: the user's device made no sound

    @property
    def from_bot(self) -> bool:
        return self.sender == BOT

    def content(self) -> dict[str, Any]:
        """What an edit changes (and what "message is not modified" compares)."""
        return {
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
            "parse_mode": self.parse_mode,
            "raw_text": self.raw_text,
            "reply_markup": self.reply_markup,
        }

    def control(self, files: dict[str, FileRec]) -> dict[str, Any]:
        document = files.get(self.document) if self.document else None
        return {
            **self.content(),
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "date": self.date,
            "from": self.sender,
            "from_bot": self.from_bot,
            "user_id": None if self.from_bot else self.sender,
            "reply_to_message_id": self.reply_to_message_id,
            "photo": self.photo,
            "document": document.api_document() if document else None,
            "invoice": self.invoice,
            "successful_payment": self.successful_payment,
            "refunded_payment": self.refunded_payment,
            "attachment": self.attachment,
            "edited": self.edit_date is not None,
            "edit_date": self.edit_date,
            "edits": self.edits,
            "deleted": self.deleted,
            "disable_notification": self.disable_notification,
        }


@dataclass
class CallbackRec:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0

    def control(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass
class InvoiceRec:
    title: str
    description: str
    payload: str
    currency: str
    prices: list[dict[str, Any]]
    start_parameter: str = ""
    subscription_period: int | None = None
    photo_url: str | None = None

    @property
    def total_amount(self) -> int:
        return sum(int(p["amount"]) for p in self.prices)

    def api(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "start_parameter": self.start_parameter,
            "currency": self.currency,
            "total_amount": self.total_amount,
        }

    def control(self) -> dict[str, Any]:
        return {**self.api(), "payload": self.payload, "prices": self.prices}


@dataclass
class PaymentRec:
    charge_id: str
    user_id: int
    chat_id: int
    currency: str
    total_amount: int
    payload: str
    date: int
    refunded: bool = False
    subscription_period: int | None = None
    subscription_id: str | None = None  # the first charge of its Stars subscription

    def control(self) -> dict[str, Any]:
        return {
            "telegram_payment_charge_id": self.charge_id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.payload,
            "date": self.date,
            "refunded": self.refunded,
            "subscription_period": self.subscription_period,
            "subscription_id": self.subscription_id,
        }
