"""A small JSON API framework under /api/v1: one declaration registers the aiohttp route and
its OpenAPI 3.1 operation, from the same pydantic models.

    api = Api()

    @api.get("/me", response=MeOut, auth=Auth.USER, summary="...")
    async def me(call: Call) -> MeOut: ...

`Api.register(app)` adds every route and ``GET /api/v1/openapi.json``; a test compares the two.
Path parameters, the query string and the JSON body are validated by their models (a bad one:
422 with the fields at fault); the caller is authenticated (`Authorization: Bearer <session>`
or `Authorization: tma <initData>`: 401 without) and authorised by `Auth` (403); services say
404 for another user's object. Every error is an RFC 7807 problem (`core.http.problems`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.http.bodies import parse_json, read_body
from core.http.problems import ProblemError
from services.errors import UserFacingError
from services.isolation import AlertSink
from services.miniapp import strings, views
from services.miniapp.plan import PlanBilling
from services.miniapp.push import LiveHub
from services.text.formatting import render
from services.text.i18n import translator
from services.users.profiles import UserInfo

PREFIX = "/api/v1"
BODY_LIMIT = 16 * 1024
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Auth(StrEnum):
    NONE = "none"  # anyone (the login route, the document)
    USER = "user"  # any signed-in user who is not banned
    PAID = "paid"  # a user whose access includes approvals (free users: 403)
    ADMIN = "admin"  # admins and the owner


@dataclass(frozen=True, slots=True)
class MiniAppConfig:
    """What the API needs from the settings (passed in by the assembly)."""

    bot_token: str
    owners: frozenset[int]
    max_age: timedelta
    script_url: str  # Telegram's web-app script (in sandbox mode: the emulator's stand-in)
    alerts: AlertSink | None = None  # where a failing terminal's order is reported
    live: LiveHub = field(default_factory=LiveHub)  # the assembly subscribes it to the bus
    billing: PlanBilling | None = None  # the Plan page's Stars checkout (routes_plan)
    public_url: str | None = None  # what terminals call (the EA's Server URL); None: this origin
    symbols: tuple[str, ...] = ()  # the traded symbols (SYMBOLS: the Admin page's switches)
    callers: views.Callers = views.NO_CACHE  # the process's user cache (the chat's own)


CONFIG_KEY = web.AppKey("miniapp_config", MiniAppConfig)


class Model(BaseModel):
    """Requests refuse unknown fields; every model is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Model):
    pass


@dataclass(frozen=True, slots=True)
class Raw:
    """A response that is not a JSON model (a file, an event stream): the handler returns the
    `web.StreamResponse` itself; the document shows `content_type` with a string schema."""

    content_type: str
    description: str


class ProblemOut(BaseModel):
    """RFC 7807 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    ref: str | None = None
    errors: list[dict[str, str]] | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class PageQuery(Model):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]*$")


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(str(key).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _invalid(
            [{"field": "cursor", "message": "not a cursor from a previous page"}]
        ) from None


def paginate(
    items: list[T], key: Callable[[T], int], query: PageQuery
) -> tuple[list[T], str | None]:
    """Keyset pagination over `items` sorted by descending `key`: the page after `cursor`."""
    if query.cursor:
        after = decode_cursor(query.cursor)
        items = [i for i in items if key(i) < after]
    page = items[: query.limit]
    more = len(items) > query.limit
    return page, (encode_cursor(key(page[-1])) if more and page else None)


@dataclass(frozen=True, slots=True)
class Call:
    """One validated request: who calls, and its path, query and body models."""

    request: web.Request
    user: UserInfo | None
    path: Any
    query: Any
    body: Any

    @property
    def me(self) -> UserInfo:
        assert self.user is not None  # routes with Auth.NONE never read it
        return self.user


Handler = Callable[[Call], Awaitable[BaseModel | web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    handler: Handler
    response: type[BaseModel] | Raw
    summary: str
    auth: Auth
    path_model: type[BaseModel]
    query_model: type[BaseModel]
    body_model: type[BaseModel] | None
    status: int = 200
    errors: tuple[int, ...] = ()

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def statuses(self) -> tuple[int, ...]:
        """Every status this operation may answer besides `status`."""
        codes = {400, 422, *self.errors}
        if self.auth is not Auth.NONE:
            codes |= {401, 403}
        return tuple(sorted(codes))


def _invalid(errors: list[dict[str, str]]) -> ProblemError:
    fields = ", ".join(e["field"] for e in errors) or "input"
    return ProblemError(422, "Unprocessable Entity", f"invalid {fields}", errors=errors)


def _errors(exc: ValidationError, where: str) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or where, "in": where, "message": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _validate(model: type[M], data: Any, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(_errors(exc, where)) from None


async def _body(request: web.Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    raw = await read_body(request, BODY_LIMIT)
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ProblemError(400, "Bad Request", "the body must be a JSON object")
    return _validate(model, data, "body")


def authorise(user: UserInfo, auth: Auth) -> None:
    if auth is Auth.PAID:
        views.require_paid(user)
    elif auth is Auth.ADMIN:
        views.require_admin(user)


def _json(model: BaseModel, status: int) -> web.Response:
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json"
    )


def _check_returns(handler: Handler, response: type[BaseModel] | Raw) -> None:
    """A handler is annotated to return what its route documents (the model itself; for a
    `Raw` answer, an aiohttp response): a route and its document cannot drift apart."""
    returns = handler.__annotations__.get("return")
    if isinstance(returns, str):  # postponed: resolved where the handler was written, a
        # model declared next to its handler (a local class) by the route's own model's name
        local = {} if isinstance(response, Raw) else {response.__name__: response}
        with contextlib.suppress(NameError):  # another name: not what the route documents
            returns = eval(returns, dict(handler.__globals__), local)  # noqa: S307
    if isinstance(response, Raw):
        ok = isinstance(returns, type) and issubclass(returns, web.StreamResponse)
    else:
        ok = returns is response
    if not ok:
        msg = f"{handler.__name__} is annotated {returns!r}, its route documents {response!r}"
        raise TypeError(msg)


def say(user: UserInfo | None, error: UserFacingError) -> str:
    """A service's error message as the page's plain text, in the caller's language (English
    before anyone is signed in), with its parameters shown for that language."""
    language = strings.language_of(user.language if user is not None else None)
    try:
        return strings.plain(render(language, error.key, **error.params))
    except (KeyError, IndexError, ValueError):  # a message and its parameters disagree
        return strings.plain(translator(language)(error.key))


def _wrap(op: Operation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        user = None
        if op.auth is not Auth.NONE:
            config = request.app[CONFIG_KEY]
            user = await views.caller(
                request.headers.get("Authorization", ""), config.bot_token,
                max_age=config.max_age, callers=config.callers,
            )  # fmt: skip
        try:
            if user is not None:
                authorise(user, op.auth)
            path = _validate(op.path_model, dict(request.match_info), "path")
            query = _validate(op.query_model, dict(request.query), "query")
            body = await _body(request, op.body_model)
            result = await op.handler(Call(request, user, path, query, body))
        except UserFacingError as error:  # the message in the caller's language, not English
            raise ProblemError(
                error.problem_status, error.problem_title, say(user, error)
            ) from None
        if isinstance(op.response, Raw):
            if not isinstance(result, web.StreamResponse):
                msg = f"{op.operation_id} answered {type(result).__name__}, not a response"
                raise TypeError(msg)
            return result
        if type(result) is not op.response:  # the document promises exactly this model
            msg = f"{op.operation_id} answered {type(result).__name__}, not {op.response.__name__}"
            raise TypeError(msg)
        return _json(result, op.status)

    handle.__name__ = op.operation_id
    return handle


@dataclass
class Api:
    prefix: str = PREFIX
    title: str = "SignalDesk Mini App API"
    version: str = "1.0.0"
    operations: list[Operation] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        response: type[BaseModel] | Raw,
        summary: str,
        auth: Auth = Auth.USER,
        path_model: type[BaseModel] = NoParams,
        query: type[BaseModel] = NoParams,
        body: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            _check_returns(handler, response)
            self.operations.append(
                Operation(method.upper(), path, handler, response, summary, auth, path_model,
                          query, body, status, errors)
            )  # fmt: skip
            return handler

        return declare

    def get(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kwargs)

    @classmethod
    def combine(cls, *parts: Api) -> Api:
        """One API (one route table, one document) from each domain's module of routes."""
        return cls(operations=[op for part in parts for op in part.operations])

    def register(self, app: web.Application) -> None:
        """Add every operation's route and the OpenAPI document to `app`."""
        document = self.openapi()

        async def openapi_json(_request: web.Request) -> web.Response:
            return web.json_response(document)

        for op in self.operations:
            app.router.add_route(op.method, self.prefix + op.path, _wrap(op))
        app.router.add_get(self.prefix + "/openapi.json", openapi_json)

    def openapi(self) -> dict[str, Any]:
        from webapp.miniapp.openapi import document

        return document(self)
