"""The at-rest key: `SecretBox` objects, and the process's one box set by `configure`."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.crypto import SecretError
from services.terminals import secrets as secret_box
from services.terminals.secrets import SecretBox


@pytest.fixture(autouse=True)
def _keep_the_process_box(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever box the process had before is back after each test."""
    monkeypatch.setattr(secret_box, "_box", secret_box._box)


def test_boxes_of_one_key_open_each_others_values_and_others_do_not(tmp_path: Path) -> None:
    one, same, other = (SecretBox(k, tmp_path) for k in ("key-one", "key-one", "key-two"))
    sealed = one.seal("value", context="dev_a")
    assert same.unseal(sealed, context="dev_a") == "value"
    with pytest.raises(SecretError):
        other.unseal(sealed, context="dev_a")
    with pytest.raises(SecretError):
        same.unseal(sealed, context="dev_b")
    assert not (tmp_path / secret_box.KEY_FILE).exists()  # MASTER_KEY given: no key file


def test_configure_sets_the_box_that_seal_and_unseal_use(tmp_path: Path) -> None:
    first = secret_box.configure("key-one", tmp_path)
    assert secret_box.box() is first and secret_box.box() is first  # kept until reconfigured
    sealed = secret_box.seal("value", context="dev_a")
    assert first.unseal(sealed, context="dev_a") == "value"
    second = secret_box.configure("key-two", tmp_path)
    assert secret_box.box() is second
    with pytest.raises(SecretError):
        secret_box.unseal(sealed, context="dev_a")
    assert second.unseal(second.seal("v", context="c"), context="c") == "v"


def test_without_configure_the_environment_key_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secret_box, "_box", None)
    monkeypatch.setenv("MASTER_KEY", "from-the-environment")
    sealed = secret_box.seal("value", context="dev_a")
    assert SecretBox("from-the-environment", tmp_path).unseal(sealed, context="dev_a") == "value"
