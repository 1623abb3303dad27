"""`EmulatorClient`: the control API from Python, for tests and tools.

Every wait is a server-side long poll on a condition, never a sleep in a loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, cast

import aiohttp

from tgemu.guard import TOKEN_HEADER

Message = dict[str, Any]
WAIT_S = 30.0  # default deadline of `wait_for`: generous, it answers as soon as the message is in


class EmulatorControlError(Exception):
    """A control API call answered with an RFC 7807 problem."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


class EmulatorClient:
    def __init__(
        self, base_url: str, *, token: str, session: aiohttp.ClientSession | None = None
    ) -> None:
        """`base_url`: where the emulator app is served, e.g. http://127.0.0.1:8081/emulator;
        `token`: its control token (`EmulatorServer.control_token`, or the sandbox's)."""
        self.base_url = base_url.rstrip("/")
        self._headers = {TOKEN_HEADER: token}
        self._session = session
        self._own_session = session is None
        self._cursor: dict[int, int] = {}  # chat id -> seq of our last action there

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, verb: str, path: str, body: Any = None, **query: Any) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        params = {k: str(v) for k, v in query.items() if v is not None}
        url = f"{self.base_url}/_control/{path}"
        if verb != "GET" and body is None:
            body = {}  # state changes are JSON, always (the guard refuses anything else)
        async with self._session.request(
            verb, url, json=body, params=params, headers=self._headers
        ) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400 or not isinstance(data, dict):
                raise EmulatorControlError(resp.status, data if isinstance(data, dict) else {})
            return data

    # -- setup ----------------------------------------------------------------------------
    async def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "en",
        label: str | None = None,
        started: bool = True,
    ) -> dict[str, Any]:
        body = {"id": user_id, "first_name": first_name, "last_name": last_name}
        body |= {"username": username, "language_code": language_code, "label": label}
        return await self._call("POST", "users", body | {"started": started})

    async def add_chat(
        self,
        chat_id: int,
        chat_type: str,
        title: str,
        *,
        username: str | None = None,
        members: list[int] | None = None,
        admins: list[int] | None = None,
        bot_is_admin: bool = True,
    ) -> dict[str, Any]:
        body = {"id": chat_id, "type": chat_type, "title": title, "username": username}
        body |= {"members": members or [], "admins": admins or [], "bot_is_admin": bot_is_admin}
        return await self._call("POST", "chats", body)

    async def users(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], (await self._call("GET", "users"))["users"])

    async def users_after(self, version: int, *, wait: float = 0) -> dict[str, Any]:
        """`{users, version}` once the users changed after `version` (long-polls `wait` s)."""
        return await self._call("GET", "users", after_version=version, wait=wait)

    async def reset(self, *, users: bool = False) -> None:
        self._cursor.clear()
        await self._call("POST", "reset", {"users": users})

    # -- acting as users --------------------------------------------------------------------
    def _moved(self, chat_id: int, seq: int) -> None:
        self._cursor[chat_id] = max(self._cursor.get(chat_id, 0), seq)

    async def send(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> Message:
        """Type `text` as the user; returns the user's message (transcript form)."""
        body = {"user_id": user_id, "text": text, "chat_id": chat_id}
        answer = await self._call(
            "POST", "send", body | {"reply_to_message_id": reply_to_message_id}
        )
        self._moved(answer["message"]["chat_id"], answer["seq"])
        return cast(Message, answer["message"])

    async def send_media(
        self, user_id: int, kind: str, *, caption: str | None = None, chat_id: int | None = None
    ) -> Message:
        """Send a photo, sticker, document, voice message, location... (`kind`, see
        tgemu/user_media.py) as the user; returns the user's message."""
        body = {"user_id": user_id, "kind": kind, "caption": caption, "chat_id": chat_id}
        answer = await self._call("POST", "send_media", body)
        self._moved(answer["message"]["chat_id"], answer["seq"])
        return cast(Message, answer["message"])

    async def press(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        *,
        text: str | None = None,
        data: str | None = None,
    ) -> str:
        """Press an inline button (by callback data or label); returns the callback query id."""
        body = {"user_id": user_id, "chat_id": chat_id, "message_id": message_id}
        answer = await self._call(
            "POST", "press", body | {"callback_data": data, "button_text": text}
        )
        self._moved(chat_id, answer["seq"])
        return str(answer["callback_query_id"])

    async def callback_answer(
        self, callback_query_id: str, *, wait: float = WAIT_S
    ) -> dict[str, Any]:
        """The bot's answerCallbackQuery (waits up to `wait` s; check `answered`)."""
        return await self._call("GET", f"callback/{callback_query_id}", wait=wait)

    async def pay(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
        invoice_link: str | None = None,
        timeout_s: float = 10.0,
    ) -> dict[str, Any]:
        """Pay an invoice message or link: {ok, status, successful_payment?, error_message?}."""
        body: dict[str, Any] = {"user_id": user_id, "chat_id": chat_id, "message_id": message_id}
        body |= {"invoice_link": invoice_link, "timeout": timeout_s}
        answer = await self._call("POST", "pay", body)
        self._moved(chat_id if chat_id is not None else user_id, answer["seq"])
        return answer

    # -- Telegram Stars: what Telegram and the user do to subscriptions and payments ----------
    async def subscriptions(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Stars subscriptions (of `user_id`): id (first charge id), state, expiration..."""
        answer = await self._call("GET", "subscriptions", user_id=user_id)
        return cast(list[dict[str, Any]], answer["subscriptions"])

    async def renew_subscription(self, charge_id: str, *, fail: bool = False) -> dict[str, Any]:
        """The period ends: Telegram charges the next one (`fail`: the charge fails) or, when
        canceled, the subscription expires. {status: renewed|failed|expired, subscription,
        successful_payment?, update_id?}"""
        body = {"telegram_payment_charge_id": charge_id, "fail": fail}
        answer = await self._call("POST", "subscriptions/renew", body)
        if answer["status"] != "expired":
            user_id = answer["subscription"]["user_id"]
            self._moved(user_id, answer["seq"])
        return answer

    async def cancel_subscription(
        self, user_id: int, charge_id: str, *, canceled: bool = True
    ) -> dict[str, Any]:
        """The user cancels (or, `canceled=False`, re-enables) the subscription in Telegram:
        the bot gets a `subscription` update. {subscription, update_id}"""
        body = {"user_id": user_id, "telegram_payment_charge_id": charge_id, "canceled": canceled}
        return await self._call("POST", "subscriptions/cancel", body)

    async def telegram_refund(self, charge_id: str) -> dict[str, Any]:
        """Telegram refunds a Stars payment (a dispute): `refunded_payment` reaches the bot."""
        answer = await self._call("POST", "refund", {"telegram_payment_charge_id": charge_id})
        self._moved(answer["message"]["chat_id"], answer["seq"])
        return answer

    async def webapp_init_data(
        self, user_id: int, *, start_param: str | None = None, auth_date: int | None = None
    ) -> str:
        """initData signed for the bot as Telegram would hand it to a Mini App `user_id` opens."""
        body: dict[str, Any] = {"user_id": user_id}
        if start_param is not None:
            body["start_param"] = start_param
        if auth_date is not None:
            body["auth_date"] = auth_date
        return str((await self._call("POST", "webapp/init_data", body))["init_data"])

    async def webapp_invoice(self, invoice_link: str) -> dict[str, Any]:
        """What Telegram's payment sheet shows for an invoice link the bot made (openInvoice)."""
        slug = invoice_link.rsplit("$", 1)[-1]
        return await self._call("GET", f"webapp/invoice/{slug}")

    async def star_transactions(self) -> list[dict[str, Any]]:
        """Every StarTransaction, oldest first (what getStarTransactions pages through)."""
        answer = await self._call("GET", "star_transactions")
        return cast(list[dict[str, Any]], answer["transactions"])

    async def join(
        self, user_id: int, *, chat_id: int | None = None, invite_link: str | None = None
    ) -> dict[str, Any]:
        """The user opens an invite link (or joins a public chat by id):
        {status: joined | requested, chat, invite_link}."""
        body = {"user_id": user_id, "chat_id": chat_id, "invite_link": invite_link}
        return await self._call("POST", "join", body)

    async def leave(self, user_id: int, chat_id: int) -> dict[str, Any]:
        return await self._call("POST", "leave", {"user_id": user_id, "chat_id": chat_id})

    async def set_bot_rights(
        self, chat_id: int, *, bot_is_admin: bool = True, **rights: bool
    ) -> dict[str, Any]:
        """The bot's standing in a group or channel; rights not named stay granted."""
        body: dict[str, Any] = {"bot_is_admin": bot_is_admin}
        if rights:
            body["rights"] = rights
        return await self._call("POST", f"chats/{chat_id}/bot_rights", body)

    async def invites(self, chat_id: int) -> dict[str, Any]:
        """{chat: {members, banned, ...}, invite_links: [... members_joined],
        join_requests: [{user_id, invite_link, date}]}."""
        return await self._call("GET", f"chats/{chat_id}/invites")

    async def block(self, user_id: int) -> None:
        await self._call("POST", "block", {"user_id": user_id, "blocked": True})

    async def unblock(self, user_id: int) -> None:
        await self._call("POST", "block", {"user_id": user_id, "blocked": False})

    # -- observing ----------------------------------------------------------------------------
    async def events(self, chat_id: int, after_seq: int = 0, *, wait: float = 0) -> dict[str, Any]:
        """Raw transcript events after `after_seq` ({events, last_seq}); long-polls `wait` s."""
        path = f"chats/{chat_id}/messages"
        return await self._call("GET", path, after_seq=after_seq, wait=wait)

    async def messages(self, chat_id: int, after_seq: int = 0) -> list[Message]:
        """Current state of each message touched after `after_seq`, in message order."""
        latest: dict[int, Message] = {}
        for event in (await self.events(chat_id, after_seq))["events"]:
            if "message" in event:
                latest[event["message"]["message_id"]] = event["message"]
        return [latest[key] for key in sorted(latest)]

    async def last_bot_message(self, chat_id: int) -> Message | None:
        bot_messages = [
            m for m in await self.messages(chat_id) if m["from_bot"] and not m["deleted"]
        ]
        return bot_messages[-1] if bot_messages else None

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[Message], bool],
        timeout: float = WAIT_S,  # noqa: ASYNC109 - the server's long poll enforces it
        *,
        after_seq: int | None = None,
    ) -> Message:
        """The first message (new or edited) matching `predicate` after `after_seq`.

        `after_seq=None` means "after this client's last send/press/pay in that chat", so
        `await client.send(...)` then `await client.wait_for(...)` sees only the reaction.
        It answers as soon as the message is there: the generous default deadline only
        matters on a slow or loaded machine.
        """
        seq = self._cursor.get(chat_id, 0) if after_seq is None else after_seq
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: dict[str, Any] | None = None
        while (remaining := deadline - loop.time()) > 0:
            answer = await self.events(chat_id, seq, wait=round(remaining, 3))
            for event in answer["events"]:
                message = event.get("message")
                if event["type"] in ("message", "edited") and message:
                    if predicate(message):
                        return cast(Message, message)
                    last = message
            seq = answer["last_seq"]
        seen = f"; last message seen: {_summary(last)}" if last else "; no message seen"
        msg = f"no matching message in chat {chat_id} within {timeout} s (after seq {seq}){seen}"
        raise TimeoutError(msg)

    async def wait_for_bot(self, chat_id: int, timeout: float = WAIT_S) -> Message:  # noqa: ASYNC109
        """The bot's next new message in the chat."""
        return await self.wait_for(chat_id, lambda m: m["from_bot"] and not m["edits"], timeout)

    # -- knobs and numbers ------------------------------------------------------------------
    async def set_limits(
        self,
        *,
        enabled: bool = True,
        global_per_s: float | None = None,
        per_chat_per_s: float | None = None,
        per_group_per_min: float | None = None,
        burst: int | None = None,
    ) -> dict[str, Any]:
        body = {"enabled": enabled, "global_per_s": global_per_s, "burst": burst}
        body |= {"per_chat_per_s": per_chat_per_s, "per_group_per_min": per_group_per_min}
        return await self._call("POST", "limits", {k: v for k, v in body.items() if v is not None})

    async def inject_fault(
        self,
        method: str,
        error_code: int,
        *,
        chat_id: int | str | None = None,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Make the next `times` calls of `method` (optionally to `chat_id`) fail; -1: always."""
        body = {"method": method, "error_code": error_code, "chat_id": chat_id, "times": times}
        body |= {"retry_after": retry_after, "description": description}
        return await self._call("POST", "faults", {k: v for k, v in body.items() if v is not None})

    async def set_latency(self, ms: int, methods: list[str] | None = None) -> None:
        await self._call("POST", "faults", {"latency_ms": ms, "methods": methods or []})

    async def clear_faults(self) -> None:
        await self._call("DELETE", "faults")

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "stats")

    async def webhook_status(self, *, min_attempts: int = 0, wait: float = 0) -> dict[str, Any]:
        """Webhook delivery attempts; waits until at least `min_attempts` were made."""
        return await self._call("GET", "webhook", min_attempts=min_attempts, wait=wait)

    async def commands(
        self, chat_id: int, user_id: int | None = None, language_code: str | None = None
    ) -> list[dict[str, str]]:
        """The menu the user sees in the chat (Telegram's scope resolution); the user's own app
        language unless `language_code` says another."""
        query: dict[str, Any] = {"user_id": user_id}
        if language_code is not None:
            query["language_code"] = language_code
        answer = await self._call("GET", f"chats/{chat_id}/commands", **query)
        return cast(list[dict[str, str]], answer["commands"])

    async def payments(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], (await self._call("GET", "payments"))["payments"])

    async def file(self, file_id: str) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        url = f"{self.base_url}/_control/files/{file_id}"
        async with self._session.get(url, headers=self._headers) as resp:
            if resp.status >= 400:
                raise EmulatorControlError(resp.status, await resp.json(content_type=None))
            return await resp.read()


def _summary(message: Message) -> str:
    """A message for an error: who wrote it and the start of its text."""
    who = "bot" if message.get("from_bot") else "user"
    body = message.get("text") or message.get("caption") or ""
    return f"#{message.get('message_id')} from {who}: {body[:120]!r}"
