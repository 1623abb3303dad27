"""The public pricing page and card payments (Stripe): plain HTML, no JavaScript.

  GET  /pricing                  the plans with their USD price and what each includes; a card
                                 form per plan only when Stripe is configured (else a note to
                                 buy in the bot with Telegram Stars)
  POST /pricing/checkout         form plan (+ email) -> 303 to Stripe Checkout
  GET  /pricing/success          ?session_id= -> the link code and the exact `/start link_CODE`
                                 with a t.me deep link, and the portal link
  GET  /billing/portal           ?customer=&token= (HMAC issued on the success page) -> 303 to
                                 Stripe's customer portal; without a valid token 403
  POST /stripe/webhook           Stripe's signed events (raw body, at most WEBHOOK_LIMIT)

The web page may link to the bot; the bot never links here (Telegram's rule for digital goods).
Errors answer RFC 7807 problems (the app's problem middleware). Texts come from the catalogs in
the visitor's language (`?lang=`, else Accept-Language, else English).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from core import clock
from core.http.bodies import read_body
from core.http.problems import ProblemError
from services.billing import catalog
from services.billing.catalog import Feature, Offer
from services.billing.stripe_billing import StripeBilling, web_listed
from services.billing.stripe_webhook import BadSignature
from services.text.formatting import Money, render, render_plural
from services.text.formatting import Plural as PluralText
from services.text.i18n import LANGUAGES, translator
from services.text.i18n import msgid as __

log = logging.getLogger(__name__)
FORM_LIMIT = 4 * 1024
WEBHOOK_LIMIT = 256 * 1024  # Stripe's events are a few kB; a payload this large is refused
TEMPLATES = Path(__file__).with_name("templates")
JINJA: web.AppKey[jinja2.Environment] = web.AppKey("pricing_jinja", jinja2.Environment)
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}a{color:#1a73c8}header a{text-decoration:none;font-weight:600}"
    ".plans{display:grid;gap:1rem}.plan{border:1px solid #d0d7de;border-radius:8px;"
    "padding:0 1rem 1rem}.price{font-size:1.25rem;font-weight:600}.note{color:#57606a}"
    "label{display:block;margin:.5rem 0}input[type=email]{width:100%;max-width:20rem}"
    "button{padding:.4rem 1rem}.code code{font-size:1.2rem;background:#f6f8fa;padding:.2rem .5rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-ancestors 'none'"
FEATURE_ORDER: tuple[Feature, ...] = tuple(Feature)
PRICE = __("pricing.price")
INCLUDES = __("pricing.includes")
EXPIRES = __("pricing.success_expires")
PORTAL_REFUSED = __("error.portal_link")


@dataclass(frozen=True)
class PricingConfig:
    """What the pages need from the assembly: Stripe (None: no card payments), the public base
    URL for Stripe's redirects (None: the request's own), the bot's @username for deep links."""

    billing: StripeBilling | None
    public_url: str | None
    bot_username: Callable[[], Awaitable[str | None]]


CONFIG: web.AppKey[PricingConfig] = web.AppKey("pricing_config", PricingConfig)


def setup_pricing(app: web.Application, config: PricingConfig) -> None:
    app[CONFIG] = config
    aiohttp_jinja2.setup(
        app,
        app_key=JINJA,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.router.add_get("/pricing", pricing_page)
    app.router.add_post("/pricing/checkout", checkout)
    app.router.add_get("/pricing/success", success)
    app.router.add_get("/billing/portal", portal)
    app.router.add_post("/stripe/webhook", webhook)


def locale_of(request: web.Request) -> str:
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def _base(request: web.Request, config: PricingConfig) -> str:
    return config.public_url or str(request.url.origin())


def _plan_name(locale: str, code: str) -> str:
    name = translator(locale)(f"plan.{code}")
    return code.replace("_", " ").title() if name == f"plan.{code}" else name


def _plan(locale: str, offer: Offer) -> dict[str, str]:
    _ = translator(locale)
    terms = offer.terms
    features = ", ".join(_(f"feature.{f.value}") for f in FEATURE_ORDER if f in terms.features)
    terminals = render_plural(locale, PluralText("shop.terminals", terms.terminal_limit, ()))
    return {
        "code": offer.code,
        "name": _plan_name(locale, offer.code),
        "price": render(
            locale, PRICE, price=Money(terms.usd_price, "USD"), days=terms.period_days
        ),
        "includes": render(locale, INCLUDES, features=features, terminals=terminals),
    }


async def _bot_url(config: PricingConfig, start: str | None = None) -> str | None:
    try:
        username = await config.bot_username()
    except Exception:  # the page works without the bot's name (Telegram unreachable)
        log.warning("bot username unknown for the pricing page", exc_info=True)
        return None
    if not username:
        return None
    return f"https://t.me/{quote(username)}" + (f"?start={quote(start)}" if start else "")


def _page(
    request: web.Request, name: str, locale: str, title: str, context: dict[str, Any]
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        name,
        request,
        {"lang": locale, "title": title, "style": STYLE, **context},
        app_key=JINJA,
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def pricing_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    locale = locale_of(request)
    _ = translator(locale)
    offers = [o for o in await catalog.offers() if web_listed(o)]
    texts = {
        "lead": _("pricing.lead"),
        "email": _("pricing.email"),
        "subscribe": _("pricing.subscribe"),
        "renews": _("pricing.renews"),
        "no_card": _("pricing.no_card"),
        "stars_note": _("pricing.stars_note"),
        "canceled": _("pricing.canceled"),
        "open_bot": _("pricing.open_bot"),
        "none": _("pricing.none"),
    }
    return _page(request, "pricing/pricing.html", locale, _("pricing.title"), {
        "t": texts,
        "plans": [_plan(locale, o) for o in offers],
        "card": config.billing is not None,
        "canceled": request.query.get("canceled") == "1",
        "bot_url": await _bot_url(config),
    })  # fmt: skip


def _billing(config: PricingConfig) -> StripeBilling:
    if config.billing is None:
        raise ProblemError(404, "Not Found", "card payments are not configured on this server")
    return config.billing


async def _form(request: web.Request) -> dict[str, str]:
    body = await read_body(request, FORM_LIMIT)
    try:
        parsed = parse_qs(body.decode(), max_num_fields=8, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise ProblemError(400, "Bad Request", "the form must be URL-encoded UTF-8") from None
    return {k: v[0].strip() for k, v in parsed.items() if v}


async def checkout(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    billing = _billing(config)
    form = await _form(request)
    plan = form.get("plan", "")
    email = form.get("email") or None
    if not plan or len(plan) > 32:
        raise ProblemError(422, "Unprocessable Entity", "choose a plan")
    if email is not None and (len(email) > 254 or "@" not in email):
        raise ProblemError(422, "Unprocessable Entity", "the e-mail address is not valid")
    base = _base(request, config)
    lang = locale_of(request)
    started = await billing.checkout(
        plan,
        email=email,
        success_url=f"{base}/pricing/success?lang={lang}&session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base}/pricing?lang={lang}&canceled=1",
    )
    raise web.HTTPSeeOther(started.url)


async def success(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    billing = _billing(config)
    locale = locale_of(request)
    _ = translator(locale)
    view = await billing.success(request.query.get("session_id", ""), clock.now())
    command = f"/start link_{view.link_code}" if view.link_code else ""
    portal_url = (
        f"/billing/portal?customer={quote(view.customer_id)}&token={view.portal_token}"
        f"&lang={locale}"
    )
    texts = {
        "send": _("pricing.success_send"),
        "linked": _("pricing.success_linked"),
        "open_bot": _("pricing.open_bot"),
        "portal": _("pricing.portal"),
        "portal_keep": _("pricing.portal_keep"),
        "back": _("pricing.back"),
    }
    expires = render(locale, EXPIRES, date=view.link_expires_at) if view.link_expires_at else ""
    return _page(request, "pricing/success.html", locale, _("pricing.success_title"), {
        "t": texts,
        "view": view,
        "command": command,
        "expires": expires,
        "portal_url": portal_url,
        "bot_url": await _bot_url(config, f"link_{view.link_code}") if view.link_code else None,
    })  # fmt: skip


async def portal(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    billing = _billing(config)
    customer = request.query.get("customer", "")
    token = request.query.get("token", "")
    if not customer or not token or not billing.portal_allowed(customer, token):
        detail = translator("en")(PORTAL_REFUSED)
        raise ProblemError(403, "Forbidden", detail)
    base = _base(request, config)
    started = await billing.portal(customer, f"{base}/pricing?lang={locale_of(request)}")
    raise web.HTTPSeeOther(started.url)


async def webhook(request: web.Request) -> web.Response:
    """Stripe's events: 400 on a bad or stale signature, 200 when applied or a duplicate;
    a failure while applying is a 503 (Stripe retries), never a 500."""
    billing = _billing(request.app[CONFIG])
    body = await read_body(request, WEBHOOK_LIMIT)
    try:
        handled = await billing.handle_event(
            body, request.headers.get("Stripe-Signature"), clock.now()
        )
    except BadSignature:
        raise
    except Exception:
        log.exception("stripe event not applied; Stripe will deliver it again")
        raise ProblemError(
            503, "Service Unavailable", "the event could not be applied; retry later"
        ) from None
    return web.json_response(
        {"received": True, "id": handled.event_id, "duplicate": not handled.applied}
    )
