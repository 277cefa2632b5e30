"""The page's eager modules joined into one (dashboard/bundle.py): each keeps its own scope, they run in the order
the browser would run them, the lazy modules import from the bundle (one copy of each module), and syntax the
bundler does not handle is refused with its file and line when the app is built, never served half-joined. The
joined page itself runs in every dashboard browser test."""

from __future__ import annotations

import pytest

from dashboard.bundle import BundleError, bundle

SOURCES = {
    "app.js": b'import { x } from "./b.js";\nimport { early } from "./ext.js";\nconst fail = 1;\n'
    b"export function f() { return x + fail + early; }\nf();\n",
    "b.js": b'import { z } from "./c.js";\nexport const x = z;\nconst fail = 3;\nexport class Thing {}\n',
    "c.js": b"export async function z() { return 2; }\n",
    "lazy.js": b'import { x, Thing } from "./b.js";\nimport { early } from "./ext.js";\nexport const y = x;\n',
    "ext.js": b"export const early = 1;\n",
}


def test_modules_keep_their_scope_and_order_and_lazy_ones_share_them() -> None:
    built = bundle(SOURCES, "app.js", {"lazy.js"}, {"ext.js"}, "bundle.js")
    text = built.body.decode()
    assert text.index("// ---- c.js") < text.index("// ---- b.js") < text.index("// ---- app.js")  # as evaluated
    assert 'import * as m_ext from "./ext.js";' in text  # early.js's place: a module of its own
    assert "const { z } = m_c;" in text and "const { early } = m_ext;" in text
    assert "return { x, Thing };" in text and "return { f };" in text
    assert text.count("const fail") == 2  # each in its own function scope, no clash
    assert "export const x = m_b.x;" in text and "export const Thing = m_b.Thing;" in text
    assert "export const f" not in text  # only what the lazy modules use is exported
    assert 'from "./b.js"' not in text and "\nexport function" not in text
    lazy = built.lazy["lazy.js"].decode()
    assert lazy.startswith('import { x, Thing } from "./bundle.js";\nimport { early } from "./ext.js";\n')


@pytest.mark.parametrize(
    ("source", "found"),
    [
        (b"export let n = 1;\n", "app.js:1"),
        (b'const a = 1;\nimport * as b from "./b.js";\n', "app.js:2"),
        (b"function f() {}\nexport default f;\n", "app.js:2"),
        (b'import { x as y } from "./b.js";\n', "app.js:1"),
        (b'export { x } from "./b.js";\n', "app.js:1"),
        (b'import { y } from "./lazy.js";\n', "lazy.js is loaded lazily"),
        (b'import { y } from "./nowhere.js";\n', "nowhere.js: no such module"),
        (b'import { x } from "./cycle.js";\n', "an import cycle"),
    ],
)
def test_what_it_cannot_join_is_refused_with_its_line(source: bytes, found: str) -> None:
    sources = {**SOURCES, "app.js": source, "cycle.js": b'import { x } from "./app.js";\nexport const x = 1;\n'}
    with pytest.raises(BundleError, match=found):
        bundle(sources, "app.js", {"lazy.js"}, {"ext.js"}, "bundle.js")


def test_a_lazy_import_the_bundle_cannot_answer_is_refused() -> None:
    sources = {**SOURCES, "lazy.js": b'import { missing } from "./b.js";\n'}
    with pytest.raises(BundleError, match="b.js exports no missing"):
        bundle(sources, "app.js", {"lazy.js"}, {"ext.js"}, "bundle.js")
