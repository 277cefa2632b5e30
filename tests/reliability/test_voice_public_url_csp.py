"""`ORATIO_VOICE_PUBLIC_URL` goes into the dashboard's CSP header and its page: nothing that could end a CSP
directive (a semicolon: `script-src *`), an attribute (a quote) or smuggle credentials, a query or another
scheme gets in; the server refuses to start with it (settings), and the page builder refuses it too.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dashboard.page import page_routes
from oratio.config import Settings

BAD = [
    "javascript:alert(1)",
    "wss://voice.example.com; script-src *",
    "wss://voice.example.com 'unsafe-inline'",
    "wss://a b",
    'wss://x"><script>',
    "wss://user@voice.example.com",
    "wss://voice.example.com/?x=1",
    "wss://voice.example.com/#x",
    "ftp://voice.example.com",
    "wss://voice.example.com\n",
]


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_voice_url_is_refused_at_startup(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORATIO_VOICE_PUBLIC_URL", bad)
    with pytest.raises(ValidationError, match="voice_public_url"):
        Settings()


@pytest.mark.parametrize("bad", BAD)
def test_the_page_builder_refuses_a_bad_voice_url_too(bad: str) -> None:
    with pytest.raises(ValueError, match="not a voice bridge URL"):
        page_routes(bad)
