"""The error hierarchy services raise; adapters translate it once (error router, RFC 7807)."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error the application raises on purpose."""


class UserFacingError(AppError):
    """An error whose message the user should read: `key` is a gettext message id."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class NotFound(UserFacingError):
    pass


class PermissionDenied(UserFacingError):
    pass


class InvalidInput(UserFacingError):
    pass


class NoChange(UserFacingError):
    """The action asked for is already the case (ban a banned user, pause a paused symbol):
    nothing was changed or recorded, and `key` says so."""
