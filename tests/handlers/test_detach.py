"""`handlers.detach_router`, the one place that writes aiogram's private `_parent_router`:
these fail if aiogram renames it (the router would stay attached)."""

from __future__ import annotations

import pytest
from aiogram import Router

from handlers import build_root_router, detach_router


def test_a_detached_router_can_be_included_again() -> None:
    child, first, second = Router(name="child"), Router(name="first"), Router(name="second")
    first.include_router(child)
    with pytest.raises(RuntimeError, match="already attached"):
        second.include_router(child)  # why the helper exists
    detach_router(child)
    assert child.parent_router is None and child not in first.sub_routers
    second.include_router(child)
    assert child.parent_router is second and second.sub_routers == [child]


def test_detaching_a_free_router_changes_nothing() -> None:
    free = Router(name="free")
    detach_router(free)
    assert free.parent_router is None


def test_the_root_router_can_be_built_twice() -> None:
    first = build_root_router()
    second = build_root_router()
    assert first.sub_routers == [] and len(second.sub_routers) > 5  # moved, not copied
    assert all(router.parent_router is second for router in second.sub_routers)
