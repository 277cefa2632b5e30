"""How the page's files are cached: the HTML is revalidated on every visit (an ETag, 304 when unchanged) and
loads its style, early.js and the bundle (app.js and its imports joined, dashboard/bundle.py) from
/dashboard/v/<version>/, cached for good; a returning admin's browser asks for the HTML only. The version is a
hash of the files: changed files, new URLs."""

from __future__ import annotations

import re

import httpx

from dashboard.page import BUNDLE, LAZY, MODULES, page_routes, version_of, versioned_page

VERSIONED = re.compile(r'src="/dashboard/v/([0-9a-f]{16})/bundle\.js"')


def test_the_html_is_revalidated_and_the_files_it_loads_are_immutable(http: httpx.Client) -> None:
    page = http.get("/dashboard")
    assert page.headers["cache-control"] == "no-cache"
    etag = page.headers["etag"]
    again = http.get("/dashboard", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert "content-security-policy" in again.headers

    found = VERSIONED.search(page.text)
    assert found is not None, page.text[:400]
    prefix = f"/dashboard/v/{found.group(1)}/"
    assert f'<script src="{prefix}early.js" type="module" async></script>' in page.text  # its own tag, runs first
    assert "modulepreload" not in page.text  # one file: nothing to preload
    assert "agent_page.js" in LAZY and "agent_entry.js" not in LAZY  # the agent page loads when opened
    assert f'<link rel="stylesheet" href="{prefix}style.css">' in page.text
    assert f'<link rel="stylesheet" href="{prefix}agent_page.css">' in page.text  # no revalidation per load
    lazy = [f"{prefix}{name}" for name in sorted(LAZY)]
    for path in [f"{prefix}{BUNDLE}", f"{prefix}early.js", f"{prefix}style.css", f"{prefix}agent_page.css", *lazy]:
        served = http.get(path)
        assert served.status_code == 200, path
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert http.get(path, headers={"If-None-Match": served.headers["etag"]}).status_code == 304
    for name in ("early.js", "style.css"):
        assert http.get(f"{prefix}{name}").content == http.get(f"/dashboard/{name}").content  # the same bytes
    agent_page = http.get(f"{prefix}agent_page.js").text  # the lazy modules share the bundle's modules
    assert 'from "./bundle.js";' in agent_page and 'from "./api.js";' not in agent_page
    assert 'from "./api.js";' in http.get("/dashboard/agent_page.js").text  # the sources are served as they are
    assert http.get("/dashboard/v/0000000000000000/bundle.js").status_code == 404  # only the current version
    assert http.get(f"/dashboard/{BUNDLE}").status_code == 404  # the bundle has a versioned URL only


def test_the_version_changes_with_any_file() -> None:
    files = {"index.html": b"<html>", "app.js": b"export {};", "style.css": b""}
    first = version_of(files)
    assert version_of({**files, "style.css": b"body {}"}) != first
    assert version_of(dict(reversed(list(files.items())))) == first
    entry = b'<script src="/dashboard/app.js" type="module"></script>'
    assert versioned_page(entry, first).startswith(f'<script src="/dashboard/v/{first}/bundle.js"'.encode())
    assert MODULES[0] == "app.js"  # the bundle's entry


def test_a_voice_url_is_in_the_versioned_page_too() -> None:
    routes = {getattr(route, "path", ""): route for route in page_routes("wss://voice.example.com")}
    assert any(path.startswith("/dashboard/v/") for path in routes)
