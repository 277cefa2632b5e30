"""Render a reviewed plan into the agent's deployable `agent.py`, and store it beside the plan artifact.

Why the plan is embedded as `repr(json.dumps(...))`: JSON text is a plain string, and `repr()` of a
str is always a single, valid Python string literal that evaluates back to exactly that string,
whatever quotes, backslashes, newlines, braces or Python-looking text it holds. So nothing in the
plan can end the literal early or become a statement. The rendered file is then put through
`validate_agent_source` before it is returned, so codegen can never hand out a file the validator
would refuse.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from creator_agent.template import AGENT_ID_MARK, AGENT_TEMPLATE, PLAN_LITERAL, VERSION_MARK
from creator_agent.validator import MAX_SOURCE_BYTES, embedded_plan_json, validate_agent_source
from oratio.blobs.ports import BlobStore
from oratio.errors import InvalidInput
from oratio.services.agents import artifact_key
from schemas.plan import AgentPlan

AGENT_FILE = "agent.py"
PLAN_SOURCE_FILE = "plan.source.json"
"""Not `plan.json`: that name is the `DeployedArtifact` `AgentService.deploy` writes in the same folder."""

_IDENTIFIER = re.compile(r"^[a-z]{2,4}_[0-9a-z]{1,58}$")  # schemas._base.Identifier


@dataclass(frozen=True)
class GeneratedCode:
    """One rendered agent: the source of `agent.py`, the plan JSON it embeds, and their sha256 digests.

    `plan_json` is byte for byte the UTF-8 of the string constant inside `source`, so its digest
    identifies the data a reviewer approved independently of the (fixed) code around it.
    """

    agent_id: str
    version: int
    source: str
    plan_json: bytes
    source_sha256: str
    plan_sha256: str

    @property
    def source_bytes(self) -> bytes:
        return self.source.encode("utf-8")


def plan_json_text(plan: AgentPlan) -> str:
    """The canonical JSON of a plan: sorted keys, no ASCII escaping (a reviewer reads the SOP's language)."""
    return json.dumps(plan.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def render_agent(plan: AgentPlan, *, agent_id: str, version: int) -> GeneratedCode:
    """Render `agent.py` for `plan`. InvalidInput for a bad id or version, or a plan too large to deploy."""
    if not isinstance(agent_id, str) or not _IDENTIFIER.match(agent_id):
        raise InvalidInput(f"agent id {agent_id!r} is not a valid id", field="agent_id")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"artifact version {version!r} must be a positive integer", field="version")
    text = plan_json_text(plan)
    try:
        plan_bytes = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the plan contains text that is not valid Unicode (a lone surrogate)") from None
    source = (
        AGENT_TEMPLATE.replace(AGENT_ID_MARK, agent_id)
        .replace(VERSION_MARK, str(version))
        .replace(PLAN_LITERAL, repr(text))  # last: the plan text itself is never searched for marks
    )
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise InvalidInput(f"the plan is too large to deploy: the agent file would exceed {MAX_SOURCE_BYTES} bytes")
    validate_agent_source(source)
    return GeneratedCode(
        agent_id=agent_id,
        version=version,
        source=source,
        plan_json=plan_bytes,
        source_sha256=hashlib.sha256(source.encode("utf-8")).hexdigest(),
        plan_sha256=hashlib.sha256(plan_bytes).hexdigest(),
    )


def generated_prefix(tenant_id: str, agent_id: str, version: int) -> str:
    """`{tenant}/agents/{agent}/v{n}`: the folder of `AgentService.deploy`'s artifact, so one version is one folder."""
    return artifact_key(tenant_id, agent_id, version).rsplit("/", 1)[0]


def store_generated(blobs: BlobStore, tenant_id: str, agent_id: str, version: int, code: GeneratedCode) -> list[str]:
    """Write `agent.py` and `plan.source.json` for one version; return their keys.

    The source is validated again here, immediately before it is written: whatever happened to the
    object since it was rendered, only a file that passes the validator reaches storage.
    """
    if code.agent_id != agent_id or code.version != version:
        raise InvalidInput(
            f"the generated code is for {code.agent_id} v{code.version}, not {agent_id} v{version}", field="code"
        )
    data = code.source_bytes
    if hashlib.sha256(data).hexdigest() != code.source_sha256:
        raise InvalidInput("the generated code does not match its sha256", field="code")
    if hashlib.sha256(code.plan_json).hexdigest() != code.plan_sha256:
        raise InvalidInput("the plan JSON does not match its sha256", field="code")
    if embedded_plan_json(code.source).encode("utf-8") != code.plan_json:
        raise InvalidInput("the plan JSON is not the plan embedded in the generated code", field="code")
    prefix = generated_prefix(tenant_id, agent_id, version)
    keys = [f"{prefix}/{AGENT_FILE}", f"{prefix}/{PLAN_SOURCE_FILE}"]
    blobs.put(keys[0], data, content_type="text/x-python; charset=utf-8")
    blobs.put(keys[1], code.plan_json, content_type="application/json")
    return keys


__all__ = [
    "AGENT_FILE",
    "PLAN_SOURCE_FILE",
    "GeneratedCode",
    "generated_prefix",
    "plan_json_text",
    "render_agent",
    "store_generated",
]
