"""The one error family of the core. Doors map it to HTTP status, MCP tool errors or WS close codes.

Messages are written for the caller (a person or a model): they say what was wrong and what to do,
never how the code is built, and never echo secrets.
"""

from __future__ import annotations

from typing import ClassVar


class OratioError(Exception):
    """Root of every error the core raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        body = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(OratioError):
    code = "invalid_input"
    http_status = 422


class NotFound(OratioError):
    """Unknown id, or an id that belongs to another tenant: the two are indistinguishable on purpose."""

    code = "not_found"
    http_status = 404

    @classmethod
    def of(cls, kind: str, ident: str) -> NotFound:
        return cls(f"{kind} '{ident}' was not found")


class Conflict(OratioError):
    """The write lost a race or would break a uniqueness rule; reading again and retrying may help."""

    code = "conflict"
    http_status = 409


class InvalidState(OratioError):
    """The record exists but is in a state that does not allow this operation."""

    code = "invalid_state"
    http_status = 409


class Unauthenticated(OratioError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(OratioError):
    code = "forbidden"
    http_status = 403


class RetryLater(OratioError):
    """A refusal that says when trying again will work: `retry_after` seconds (the HTTP Retry-After header)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        """Retry-After is whole seconds, rounded up so a client that obeys it is never refused again."""
        return str(max(1, int(-(-self.retry_after // 1))))


class RateLimited(RetryLater):
    code = "rate_limited"
    http_status = 429


class Busy(RetryLater):
    """Another turn of the same session is running (on this process or another replica) and did not end
    within `ORATIO_TURN_WAIT_SECONDS`: nothing of this message was stored. 409 with Retry-After; sending
    it again after that many seconds is safe."""

    code = "session_busy"
    http_status = 409


class ConfigError(OratioError):
    """Configuration is missing or wrong; raised at start, before any request is served."""

    code = "config_error"
    http_status = 500


class BackendUnavailable(OratioError):
    """A backend (database, bucket, model provider) did not answer; the caller may retry."""

    code = "backend_unavailable"
    http_status = 503


class ArtifactRejected(OratioError):
    """The agent's stored plan is not the one that was reviewed (its sha256 differs); it is not served.

    503: the customer's request was fine and nothing of it was stored; the agent is marked failed and
    an admin must rebuild it.
    """

    code = "artifact_rejected"
    http_status = 503


class ModelUnavailable(BackendUnavailable):
    """The model an agent runs cannot run here (SDK or credentials missing, none configured, not allowed).

    503, not 500: the request was fine and nothing of it was stored; the operator must fix the model.
    """

    code = "model_unavailable"


__all__ = [
    "ArtifactRejected",
    "BackendUnavailable",
    "Busy",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "InvalidState",
    "ModelUnavailable",
    "NotFound",
    "OratioError",
    "RateLimited",
    "RetryLater",
    "Unauthenticated",
]
