"""aiogram routers, one module per feature, included in an explicit order: errors first, the
catch-all last. Thin: parse input, call one service, render the result.

Adapters: may import services, models, core and trading; never another adapter or `bot`.
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    affiliates,
    alerts,
    analytics,
    common,
    devices,
    errors,
    language,
    ledger,
    lifecycle,
    payments,
    plans_admin,
    positions,
    post,
    producers,
    promos,
    shop,
    signals,
    start,
    strategy,
    trials,
    vip,
)

FEATURE_ROUTERS: tuple[Router, ...] = (
    errors.router,
    common.cancel_router,  # /cancel first: it must win over any dialog step
    start.router,
    language.router,
    signals.router,
    devices.router,
    positions.router,
    alerts.router,
    analytics.router,
    shop.router,
    payments.router,
    lifecycle.router,
    trials.router,
    promos.router,
    plans_admin.router,
    affiliates.router,
    vip.router,
    strategy.router,
    ledger.router,
    producers.router,
    post.router,
    admin.router,
    common.router,  # /cancel and the unknown-command catch-all stay last
)


def detach_router(router: Router) -> None:
    """Take `router` out of its parent so another app in this process can include it.

    Routers are module singletons, and a second app in one process (the tests) includes them
    again. aiogram (3.31) has no public way to detach a router: `include_router` sets the
    `parent_router` property, whose setter refuses a router that has a parent and accepts no
    None. So this clears the private ``_parent_router`` the property reads, here only;
    tests/handlers/test_detach.py fails if that attribute disappears.
    """
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None


def build_root_router() -> Router:
    root = Router(name="root")
    for router in FEATURE_ROUTERS:
        detach_router(router)
        root.include_router(router)
    return root
