"""The deploy package's one error root: a one-line message the CLI prints before exiting with status 2."""

from __future__ import annotations

from oratio.errors import OratioError


class DeployError(OratioError):
    """Anything that stops a plan or an apply: missing region/credentials/bucket, a failed AWS call."""


__all__ = ["DeployError"]
