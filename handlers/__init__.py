"""aiogram routers, one module per feature, included in an explicit order: errors first, the
catch-all last. Thin: parse input, call one service, render the result.

Adapters: may import services, models, core and trading; never another adapter or `bot`.
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    common,
    devices,
    errors,
    language,
    positions,
    post,
    shop,
    signals,
    start,
    strategy,
)

FEATURE_ROUTERS: tuple[Router, ...] = (
    errors.router,
    common.cancel_router,  # /cancel first: it must win over any dialog step
    start.router,
    language.router,
    signals.router,
    devices.router,
    positions.router,
    shop.router,
    strategy.router,
    post.router,
    admin.router,
    common.router,  # /cancel and the unknown-command catch-all stay last
)


def _detach(router: Router) -> None:
    """Routers are module singletons; a second app in one process (tests) re-attaches them."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None


def build_root_router() -> Router:
    root = Router(name="root")
    for router in FEATURE_ROUTERS:
        _detach(router)
        root.include_router(router)
    return root
