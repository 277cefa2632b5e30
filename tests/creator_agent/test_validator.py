"""The validator refuses anything but the vetted template plus one valid plan, each with a specific reason.

Every variant starts from a real rendered file and changes it the way an attacker (or a model writing
code it should not) would; the reason slug says which check caught it.
"""

from __future__ import annotations

import pytest

from creator_agent.codegen import render_agent
from creator_agent.validator import UnsafeAgentCode, embedded_plan, validate_agent_source
from oratio.errors import InvalidInput
from schemas.plan import AgentPlan

PLAN = AgentPlan(persona="Helper", system_prompt="You answer questions about orders politely.")
GOOD = render_agent(PLAN, agent_id="agt_abc", version=1).source
ENTRY = "    raise SystemExit(main())\n"
DATA_LINE = next(line for line in GOOD.splitlines() if line.startswith("PLAN_JSON = "))
IMPORTS = "from schemas.plan import AgentPlan\n"


def appended(code: str) -> str:
    return GOOD + code + "\n"


def before_entry(code: str) -> str:
    return GOOD.replace(IMPORTS, IMPORTS + code + "\n")


def with_data(literal: str) -> str:
    return GOOD.replace(DATA_LINE, f"PLAN_JSON = {literal}")


def nested(depth: int) -> str:
    return appended("x = " + "-" * depth + "1")


VARIANTS: dict[str, tuple[str | bytes, str]] = {
    "import os": (before_entry("import os"), "forbidden_import"),
    "import subprocess": (appended("import subprocess"), "forbidden_import"),
    "from os import system": (appended("from os import system"), "forbidden_import"),
    "import importlib": (appended("import importlib"), "forbidden_import"),
    "import oratio.store": (appended("import oratio.store"), "forbidden_import"),
    "from json import __builtins__": (appended("from json import __builtins__"), "forbidden_import"),
    "import json as j": (appended("import json as j"), "import_alias"),
    "__import__": (appended('__import__("os").system("id")'), "forbidden_name"),
    "eval": (appended('eval("1")'), "forbidden_name"),
    "exec in a lambda": (appended('f = lambda: exec("x")'), "forbidden_construct"),
    "exec attribute": (appended('json.exec("x")'), "forbidden_name"),
    "compile": (appended('compile("x", "f", "exec")'), "forbidden_name"),
    "open": (appended('open("/etc/passwd").read()'), "forbidden_name"),
    "getattr builtins": (appended('getattr(__builtins__, "ex" + "ec")'), "forbidden_name"),
    "getattr literal": (appended('getattr(PLAN, "persona")'), "forbidden_name"),
    "subclasses walk": (appended("().__class__.__bases__[0].__subclasses__()"), "dunder_attribute"),
    "dunder name": (appended("__spec__"), "forbidden_name"),
    "dunder custom name": (appended("__x__ = 1"), "dunder_name"),
    "globals": (appended('globals()["PLAN"] = None'), "forbidden_name"),
    "vars": (appended("vars()"), "forbidden_name"),
    "breakpoint": (appended("breakpoint()"), "forbidden_name"),
    "input": (appended("input()"), "forbidden_name"),
    "sys module": (appended("sys.exit(0)"), "forbidden_name"),
    "star import": (appended("from schemas import *"), "star_import"),
    "relative import": (appended("from . import agent"), "relative_import"),
    "f-string with a call": (appended('x = f"{main()}"'), "forbidden_construct"),
    "decorator injection": (appended("@main\ndef f():\n    pass"), "decorator"),
    "function definition": (appended("def f():\n    pass"), "forbidden_construct"),
    "class definition": (appended("class X:\n    pass"), "forbidden_construct"),
    "walrus": (appended("(x := main())"), "forbidden_construct"),
    "try/except swallowing": (
        GOOD.replace("PLAN = AgentPlan", "try:\n    PLAN = AgentPlan").replace(
            "(PLAN_JSON)\n", "(PLAN_JSON)\nexcept Exception:\n    pass\n"
        ),
        "forbidden_construct",
    ),
    "comprehension": (appended("[main() for _ in range(9)]"), "forbidden_construct"),
    "loop": (appended("while True:\n    main()"), "forbidden_construct"),
    "with": (appended("with main():\n    pass"), "forbidden_construct"),
    "extra top-level statement": (appended("main()"), "statement_count"),
    "a second string constant": (appended('OTHER = "{}"'), "statement_count"),
    "changed entry call": (GOOD.replace(ENTRY, "    raise SystemExit(main(['--port', '1']))\n"), "shape_mismatch"),
    "entry call moved out of the guard": (
        GOOD.replace('if __name__ == "__main__":\n' + ENTRY, "raise SystemExit(main())\n"),
        "shape_mismatch",
    ),
    "plan parsing removed": (
        GOOD.replace("PLAN = AgentPlan.model_validate_json(PLAN_JSON)", "PLAN = None"),
        "shape_mismatch",
    ),
    "statements swapped": (
        GOOD.replace(IMPORTS, "").replace("from oratio_app", IMPORTS + "from oratio_app"),
        "shape_mismatch",
    ),
    "other runtime import": (
        GOOD.replace("from oratio_app.agent_runtime import main", "from oratio_app.agent_runtime import serve_door"),
        "shape_mismatch",
    ),
    "data is an expression": (with_data('"{}" + "{}"'), "shape_mismatch"),
    "data is bytes": (with_data("b'{}'"), "shape_mismatch"),
    "data is a call on a literal": (with_data('"{}".format()'), "shape_mismatch"),
    "data assigned twice": (GOOD.replace(DATA_LINE, f"PLAN_JSON = PLAN = {DATA_LINE[12:]}"), "shape_mismatch"),
    "plan is not JSON": (with_data("'not json'"), "invalid_plan"),
    "plan is not an AgentPlan": (with_data('\'{"persona": "x"}\''), "invalid_plan"),
    "plan has an unknown tool": (
        with_data(repr(PLAN.model_dump_json().replace("end_session", "run_shell"))),
        "invalid_plan",
    ),
    "syntax error": (GOOD + "def (:\n", "syntax"),
    "NUL byte": (GOOD + "\x00", "nul_byte"),
    "non-UTF-8 bytes": (GOOD.encode() + b"\xff\xfe", "not_utf8"),
    "lone surrogate": (GOOD + "# \ud800\n", "not_utf8"),
    "encoding declaration": ("# -*- coding: utf-7 -*-\n" + GOOD, "encoding_declaration"),
    "encoding declaration on line 2": (
        "#!/usr/bin/env python\n# vim: set fileencoding=utf-7 :\n" + GOOD,
        "encoding_declaration",
    ),
    "1 MB source": (GOOD + "#" + "x" * (1024 * 1024) + "\n", "too_large"),
    "1 MB of bytes": (GOOD.encode() + b"#" + b"x" * (1024 * 1024), "too_large"),
    "deeply nested parentheses": (appended("x = " + "(" * 5000 + "1" + ")" * 5000), "syntax"),
    "deeply nested unary": (nested(100_000), "too_deep"),
    "empty file": ("", "statement_count"),
}


def test_the_corpus_is_large() -> None:
    assert len(VARIANTS) >= 25


def test_the_rendered_template_passes() -> None:
    validate_agent_source(GOOD)
    validate_agent_source(GOOD.encode())
    assert embedded_plan(GOOD) == PLAN


def test_the_validator_ignores_only_comments_and_blank_lines() -> None:
    spaced = GOOD.replace("\n\nPLAN = ", "\n\n\n\nPLAN = ").replace("\nif __name__", "\n\n# note\nif __name__")
    assert spaced != GOOD
    validate_agent_source(spaced + "# a reviewer's note\n")
    # ...but the docstring is a constant of the template: changing it is a change of shape.
    with pytest.raises(UnsafeAgentCode, match="shape_mismatch"):
        validate_agent_source(GOOD.replace("one reviewed plan", "one changed plan", 1))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_malicious_variant_is_refused_with_its_reason(name: str) -> None:
    source, reason = VARIANTS[name]
    with pytest.raises(UnsafeAgentCode) as caught:
        validate_agent_source(source)
    assert caught.value.reason == reason, caught.value.message
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.http_status == 422
    assert caught.value.to_dict()["error"] == "unsafe_agent_code"
