"""The page's eager ES modules joined into one module when the app is built (in memory: no build step, no Node).

Why: each module is a file the browser fetches (from its cache, on a warm load), parses and links before the page
can run; with ~20 of them, that was most of a warm load's script time (issue 22, the first paint). One file is
one fetch. The sources stay as they are, one module each; `/dashboard/<name>` still serves them unchanged.

How, for the subset of ES module syntax the page's modules use (anything else is refused with the file and line,
when the app is built, so a new module cannot break the page silently):

- `import { a, b } from "./x.js";` on one line, at the start of a line;
- `export function|async function|const|class NAME` (no `export let`: a binding that changes is not copied).

Each module becomes a function run once, in the order the browser would evaluate them (depth first, imports in
source order); its body keeps its own scope (two modules may each have a top-level `fail`), reads its imports from
the objects earlier modules returned, and returns its exports. A module named in `external` stays a module of its
own (early.js: it runs before the bundle has loaded), imported by URL. The lazily loaded modules (the agent page)
stay files of their own too; their imports of a bundled module are pointed at the bundle, which exports what they
use, so the page has one `state`, one `api`: never two copies of a module.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

IMPORT = re.compile(r'^import \{([^}]*)\} from "\./([A-Za-z0-9_]+\.js)";[ \t]*(?://[^\n]*)?$', re.M)
EXPORT = re.compile(r"^export (?=(?:async function\*?|function\*?|const|class) )", re.M)
EXPORTED = re.compile(r"^export (?:async )?(?:function\*?|const|class) ([A-Za-z_$][\w$]*)", re.M)
OTHER = re.compile(r"^(?:import|export)\b.*$", re.M)
NAME = re.compile(r"^[A-Za-z_$][\w$]*$")


class BundleError(ValueError):
    """A module uses syntax the bundler does not handle: the message names the file and line."""


@dataclass(frozen=True)
class Bundle:
    """`body`: the bundle module; `lazy`: the lazy modules, their bundled imports pointed at the bundle."""

    body: bytes
    lazy: dict[str, bytes]


@dataclass(frozen=True)
class _Module:
    name: str
    text: str
    imports: tuple[tuple[str, tuple[str, ...]], ...]  # (module, names) in source order
    exports: tuple[str, ...]


def _parse(name: str, text: str) -> _Module:
    imports = []
    for found in IMPORT.finditer(text):
        names = tuple(part.strip() for part in found.group(1).split(",") if part.strip())
        for imported in names:
            if not NAME.fullmatch(imported):
                raise BundleError(f"{name}:{_line(text, found.start())}: only `import {{ a, b }}`: {imported!r}")
        imports.append((found.group(2), names))
    for found in OTHER.finditer(text):
        if not IMPORT.fullmatch(found.group(0)) and not EXPORTED.match(found.group(0)):
            raise BundleError(f"{name}:{_line(text, found.start())}: not bundled: {found.group(0)[:80]!r}")
    return _Module(name, text, tuple(imports), tuple(EXPORTED.findall(text)))


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def _var(name: str) -> str:
    return "m_" + re.sub(r"\W", "_", name.removesuffix(".js"))


def bundle(
    sources: Mapping[str, bytes], entry: str, lazy: Collection[str], external: Collection[str], out: str
) -> Bundle:
    """`entry` and every module it imports statically (not `lazy`, not `external`) as one module named `out`."""
    modules: dict[str, _Module] = {}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in modules or name in external:
            return
        if name in visiting:
            raise BundleError(f"{name}: an import cycle (the bundle evaluates modules in order)")
        if name in lazy:
            raise BundleError(f"{name} is loaded lazily but imported statically")
        if name not in sources:
            raise BundleError(f"{name}: no such module")
        visiting.add(name)
        module = _parse(name, sources[name].decode("utf-8"))
        for imported, _ in module.imports:
            visit(imported)
        visiting.discard(name)
        modules[name] = module
        order.append(name)

    visit(entry)
    rewritten = {name: _point_at(name, sources[name].decode("utf-8"), modules, out) for name in sorted(lazy)}
    wanted = {
        part.strip()
        for text in rewritten.values()
        for found in IMPORT.finditer(text)
        if found.group(2) == out
        for part in found.group(1).split(",")
        if part.strip()
    }
    return Bundle(
        _join(order, modules, sorted(set(external)), wanted).encode("utf-8"),
        {name: text.encode("utf-8") for name, text in rewritten.items()},
    )


def _point_at(name: str, text: str, bundled: Mapping[str, _Module], out: str) -> str:
    """A lazy module's imports of bundled modules, from the bundle instead."""

    def point(found: re.Match[str]) -> str:
        module = found.group(2)
        if module not in bundled:
            return found.group(0)
        missing = [
            n.strip() for n in found.group(1).split(",") if n.strip() and n.strip() not in bundled[module].exports
        ]
        if missing:
            raise BundleError(f"{name}: {module} exports no {', '.join(missing)}")
        return f'import {{{found.group(1)}}} from "./{out}";'

    return IMPORT.sub(point, text)


def _join(order: list[str], modules: Mapping[str, _Module], external: list[str], wanted: set[str]) -> str:
    parts = [f"// Built in memory by dashboard/bundle.py from {', '.join(order)}; edit those files, not this one.\n"]
    parts += [f'import * as {_var(name)} from "./{name}";\n' for name in external]
    providers: dict[str, str] = {}
    for name in order:
        module = modules[name]
        body = IMPORT.sub("", EXPORT.sub("", module.text))
        reads = "".join(f"  const {{ {', '.join(names)} }} = {_var(m)};\n" for m, names in module.imports)
        parts.append(
            f"\n// ---- {name}\nconst {_var(name)} = (() => {{\n{reads}{body}\n"
            f"return {{ {', '.join(module.exports)} }};\n}})();\n"
        )
        for export in module.exports:
            if export in wanted and providers.setdefault(export, name) != name:
                raise BundleError(f"{export}: exported by {providers[export]} and {name}, both used by lazy modules")
    parts += [f"export const {export} = {_var(name)}.{export};\n" for export, name in sorted(providers.items())]
    return "".join(parts)
