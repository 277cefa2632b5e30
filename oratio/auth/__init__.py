"""Who is calling, and how often: admin/service JWTs, agent API key secrets, rate limits.

Pure functions and small objects with no I/O; the doors (HTTP, MCP, WebSocket) call them and the
store keeps what they produce (`StoredApiKey.secret_hash`, never a secret).
"""

from oratio.auth.api_keys import (
    display_prefix,
    generate_secret,
    hash_secret,
    looks_like_api_key,
    secret_matches,
)
from oratio.auth.rate_limit import Clock, RateLimiter, TokenBucketLimiter
from oratio.auth.tokens import JwtSettings, issue_token, require_scope, verify_token

__all__ = [
    "Clock",
    "JwtSettings",
    "RateLimiter",
    "TokenBucketLimiter",
    "display_prefix",
    "generate_secret",
    "hash_secret",
    "issue_token",
    "looks_like_api_key",
    "require_scope",
    "secret_matches",
    "verify_token",
]
