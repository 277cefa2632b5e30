"""Redaction of secrets in anything shown to an admin: one walk over a model, so new fields are covered.

Reading an agent's plan (MCP `get_agent_plan`, `diff_agent_plan`) must never show a secret, nor a
reference to one. A plan is data the AgentCreator wrote from tenant text, and the agent's spec carries
URLs; issue 18 adds tool headers holding secret references. Rather than each view remembering which of
its fields are sensitive, `redact` walks a whole pydantic model (nested models, lists, tuples, dicts,
strings) and replaces:

- the value of any field or mapping key that names a secret (`password`, `api_key`, `authorization`,
  `client_secret`, `x-api-key`, `cookie`, ... see `is_secret_name`);
- credentials inside URLs: the `user:password@` part and query parameters that name a secret
  (`?token=`, `&sig=`, `X-Amz-Signature=`), and `api_key=...`/`password=...` assignments anywhere;
- secret references (`secret://name`, `{{secret:name}}`, `${secrets.name}`): a reference says which
  vault entry holds the credential, which is already more than a reader needs;
- credential-shaped tokens in free text: `Bearer ...`, JWTs, AWS access key ids, `sk-...`/`ghp_...`/`xox?-...`
  keys, PEM private keys.

Every pattern is linear-time (no nested quantifiers; bounded repetitions) since it runs on tenant text.
The walk copies models with `model_copy`, so a redacted value never has to satisfy the field's
constraints and the result keeps its type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import BaseModel

__all__ = ["REDACTED", "is_secret_name", "redact", "redact_text"]

M = TypeVar("M")

REDACTED: Final = "[redacted]"

_SECRET_PARTS = frozenset(
    {
        "secret",
        "secrets",
        "password",
        "passwd",
        "passphrase",
        "token",
        "apikey",
        "authorization",
        "auth",
        "credential",
        "credentials",
        "cookie",
        "signature",
        "sig",
        "bearer",
    }
)
_SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("signing", "key")})
_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_REFERENCE = re.compile(
    r"secret://[^\s\"'<>]{1,256}|\{\{\s{0,8}secrets?[.:][^{}]{1,256}\}\}|\$\{\s{0,8}secrets?[.:][^{}]{1,256}\}",
    re.IGNORECASE,
)
_TOKENS = re.compile(
    r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]{0,10000}+-----END [A-Z ]{0,40}PRIVATE KEY-----"
    r"|\bbearer\s{1,8}[A-Za-z0-9._~+/=-]{8,4096}"
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,4096}+\.eyJ[A-Za-z0-9_-]{5,4096}+\.[A-Za-z0-9_-]{0,4096}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|(?<![A-Za-z0-9_-])(?:sk|pk|rk)-[A-Za-z0-9_-]{16,512}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,255}"
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,512}",
    re.IGNORECASE,
)
_ASSIGNED = re.compile(
    r"(?<![A-Za-z0-9_])((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|client[_-]?secret|password|passwd)=)"
    r"[^\s&\"'<>]{1,512}",
    re.IGNORECASE,
)
_URL = re.compile(r"\bhttps?://[^\s\"'<>]{1,4096}", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a field name or header/parameter key names a secret: `webhook_secret`, `X-Api-Key`,
    `Authorization`, `clientSecret`, `access_token`, ... (`max_tokens` is not: only whole words count)."""
    words = [w for w in _SPLIT.split(_CAMEL.sub("_", name).casefold()) if w]
    if any(word in _SECRET_PARTS for word in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:], strict=False))


def _redact_url(match: re.Match[str]) -> str:
    url = match.group(0)
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_secret_name(key) for key, _ in pairs):
                query = "&".join(f"{key}={REDACTED if is_secret_name(key) else value}" for key, value in pairs)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not a URL urllib can split (e.g. a bad port): show none of it
        return REDACTED


def redact_text(text: str) -> str:
    """`text` with secret references, credential-shaped tokens and URL credentials replaced (`text`
    itself when there were none)."""
    changed = _TOKENS.sub(REDACTED, _REFERENCE.sub(REDACTED, text))
    changed = _URL.sub(_redact_url, _ASSIGNED.sub(rf"\1{REDACTED}", changed))
    return text if changed == text else changed


def _walk(value: Any, secret: bool) -> Any:
    if isinstance(value, str):
        return REDACTED if secret and value else redact_text(value)
    if isinstance(value, BaseModel):
        changes = {}
        for name in type(value).model_fields:
            current = getattr(value, name)
            redacted = _walk(current, is_secret_name(name))
            if redacted is not current:
                changes[name] = redacted
        return value.model_copy(update=changes) if changes else value
    if isinstance(value, Mapping):
        items = {
            key: _walk(item, secret or (isinstance(key, str) and is_secret_name(key))) for key, item in value.items()
        }
        return items if any(items[k] is not value[k] for k in items) else value
    if isinstance(value, list | tuple):
        walked = [_walk(item, secret) for item in value]
        if all(new is old for new, old in zip(walked, value, strict=True)):
            return value
        return type(value)(walked) if isinstance(value, tuple) else walked
    return value  # numbers, enums, dates: never secrets on their own


def redact(value: M) -> M:
    """A copy of `value` (a model, or any JSON-like structure) with every secret replaced by `[redacted]`.

    Returns `value` itself when nothing needed redacting. Strings that are unchanged keep their identity,
    so the walk allocates only along the paths that held a secret.
    """
    return cast(M, _walk(value, secret=False))
