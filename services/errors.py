"""The error hierarchy services raise; adapters translate it once (error router, RFC 7807).

Each class carries what HTTP answers for it (`problem_status`, `problem_title` and
`problem_detail()`, read by `core.http.problems` by duck typing: `core` imports no app
package), so a route never needs its own mapping: a `NotFound` is a 404 in every route.
A `UserFacingError`'s detail is its message rendered in English (the API's language).
"""

from __future__ import annotations

from typing import Any, ClassVar

from services.text.i18n import translator


class AppError(Exception):
    """Base of every error the application raises on purpose. Over HTTP: a 500 without
    detail, unless a subclass says otherwise (its message may name internal values)."""

    problem_status: ClassVar[int] = 500
    problem_title: ClassVar[str] = "Internal Server Error"

    def problem_detail(self) -> str | None:
        """The message for a client error (4xx), none for a server error."""
        return str(self) if self.problem_status < 500 else None


class UserFacingError(AppError):
    """An error whose message the user should read: `key` is a gettext message id."""

    problem_status: ClassVar[int] = 400
    problem_title: ClassVar[str] = "Bad Request"

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def problem_detail(self) -> str:
        """The message in English with its parameters (the message id if they disagree)."""
        text = translator("en")(self.key)
        try:
            return text.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return text


class NotFound(UserFacingError):
    problem_status: ClassVar[int] = 404
    problem_title: ClassVar[str] = "Not Found"


class PermissionDenied(UserFacingError):
    problem_status: ClassVar[int] = 403
    problem_title: ClassVar[str] = "Forbidden"


class InvalidInput(UserFacingError):
    problem_status: ClassVar[int] = 422
    problem_title: ClassVar[str] = "Unprocessable Entity"


class NoChange(UserFacingError):
    """The action asked for is already the case (ban a banned user, pause a paused symbol):
    nothing was changed or recorded, and `key` says so."""

    problem_status: ClassVar[int] = 409
    problem_title: ClassVar[str] = "Conflict"
