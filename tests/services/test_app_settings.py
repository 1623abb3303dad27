import pytest

from services import app_settings
from services.app_settings import Visibility


async def test_defaults_then_stored_values_of_every_json_type(database: str) -> None:
    assert await app_settings.visibility() is Visibility.FULL
    assert await app_settings.free_delay_hours() == 24
    await app_settings.put("signals.visibility", "entry_only")
    assert await app_settings.visibility() is Visibility.ENTRY_ONLY
    await app_settings.put("signals.free_delay_hours", 0.5)
    assert await app_settings.free_delay_hours() == 0.5
    for value in ("text", 3, 2.5, True, None, [1, "a"], {"k": [1]}):
        await app_settings.put("x", value)
        assert await app_settings.get("x") == value


@pytest.mark.parametrize("version", ["2026-11", "2027-01"])
async def test_disclaimer_version_round_trips(database: str, version: str) -> None:
    await app_settings.put("risk.disclaimer_version", version)
    assert await app_settings.disclaimer_version() == version
