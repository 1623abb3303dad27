"""The buying and refund buttons' callback data fits Telegram's 64 bytes at its largest."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData

from handlers.payments import RefundCB, SubCB
from handlers.shop import BuyCB, DowngradeCB
from services.billing.checkout import Kind

LARGEST: list[CallbackData] = [
    BuyCB(plan="p" * 32, kind=Kind.SUBSCRIPTION.value),  # plan codes are at most 32 characters
    DowngradeCB(plan="p" * 32),
    RefundCB(payment_id=2**63 - 1),
    SubCB(action="reenable"),
]


@pytest.mark.parametrize("data", LARGEST, ids=lambda d: type(d).__name__)
def test_callback_data_fits_64_bytes(data: CallbackData) -> None:
    packed = data.pack()
    assert len(packed.encode()) <= 64
    assert type(data).unpack(packed) == data
