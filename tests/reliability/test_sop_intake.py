"""The intake check (issue 17 item 4): an SOP with no instruction is refused before anything is stored.

Threat/defect: an SOP of spaces, gibberish or a couple of stray words used to build an `active` agent with
an empty plan. Now `create_agent` and `update_agent` refuse it with a clear error naming the `sop` field
(an MCP tool error; InvalidInput from the service), and neither the agent, its documents nor the changed
spec is kept. Real SOPs in any supported language, however short, still pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.errors import InvalidInput
from oratio.platform import Platform
from oratio.sop_intake import check_sop
from schemas import AgentSpec, AgentUpdate, CreateAgent, DocumentContent, DocumentFormat
from tests.reliability.doors import tool_error
from tests.reliability.world import Side, new_side, reliability_platform

REFUSED = {
    "spaces": " " * 40,
    "newlines and tabs": "\n\t \n" * 10,
    "punctuation": "!!!! ???? .... ---- #### ****",
    "gibberish": "asdkjh qwpeoiru zxmcnv lkjhgf poiuyt mnbvcx",
    "lorem ipsum": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    "two words": "Support agent.................",
    "numbers": "1234 5678 9012 3456 7890 1234",
    "one known word among gibberish": "answer xqzv wprt klmn zzqq vvbb",
    "a lorem ipsum page": (
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
        "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
        "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore."
    ),
}
ACCEPTED = {
    "en": "Answer briefly and politely.",
    "en questions": "Answer questions about our opening hours.",
    "fr": "Répondez poliment aux questions des clients.",
    "es": "Responda siempre con amabilidad a los clientes.",
    "de": "Antworten Sie immer höflich auf Fragen der Kunden.",
    "en facts": "Refunds are available within 30 days of purchase. Shipping takes three to five business days.",
    "fr facts": "Les remboursements sont possibles dans les 30 jours. La livraison prend trois à cinq jours.",
    "de facts": "Erstattungen sind innerhalb von 30 Tagen möglich. Die Lieferung dauert drei bis fünf Tage.",
}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Platform, Side]]:
    with reliability_platform(tmp_path) as platform:
        yield platform, new_side(platform, "Acme")


@pytest.mark.parametrize("sop", REFUSED.values(), ids=list(REFUSED))
def test_an_sop_with_no_instruction_is_refused_naming_the_field(sop: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_sop(sop)
    assert refused.value.field == "sop" and "SOP" in refused.value.message


@pytest.mark.parametrize("sop", ACCEPTED.values(), ids=list(ACCEPTED))
def test_short_real_sops_in_every_language_pass(sop: str) -> None:
    check_sop(sop)


def test_create_agent_refuses_it_and_stores_nothing(site: tuple[Platform, Side]) -> None:
    platform, side = site
    files_before = sorted(p for p in platform.settings.data_dir.rglob("*") if p.is_file() and p.suffix != ".db")
    faq = DocumentContent(name="faq.md", format=DocumentFormat.MARKDOWN, content=b"# FAQ\n\nOpen 9 to 5.")

    async def refused_over_mcp() -> None:
        async with Client(build_server(platform, OperatorPrincipal(side.principal))) as client:
            for name, sop in REFUSED.items():
                spec = {"name": f"Bad {name}"[:60], "sop": sop}
                result = await client.call_tool("create_agent", {"spec": spec, "documents": []})
                error = tool_error(result)
                assert error is not None and "invalid_input" in error and "SOP" in error, error

    anyio.run(refused_over_mcp)
    with pytest.raises(InvalidInput):
        platform.agents.create(
            side.principal, CreateAgent(spec=AgentSpec(name="Gibberish", sop=REFUSED["gibberish"]), documents=[faq])
        )
    assert [a.name for a in platform.agents.list(side.principal).items] == ["Support"]
    files_after = sorted(p for p in platform.settings.data_dir.rglob("*") if p.is_file() and p.suffix != ".db")
    # The MCP server's request-state key is made once when the first server is built: a platform key, not SOP data.
    made = [p for p in files_after if p not in files_before and p.name != "mcp-request-state.key"]
    assert [p for p in made if "-wal" not in p.name and "-shm" not in p.name] == []


def test_update_agent_refuses_it_and_keeps_the_spec(site: tuple[Platform, Side]) -> None:
    platform, side = site
    before = platform.agents.get(side.principal, side.agent.id).spec.sop

    async def refused_over_mcp() -> None:
        async with Client(build_server(platform, OperatorPrincipal(side.principal))) as client:
            result = await client.call_tool(
                "update_agent", {"agent_id": side.agent.id, "change": {"sop": REFUSED["lorem ipsum"]}}
            )
            error = tool_error(result)
            assert error is not None and "invalid_input" in error and "SOP" in error, error

    anyio.run(refused_over_mcp)
    with pytest.raises(InvalidInput):
        platform.agents.update(side.principal, side.agent.id, AgentUpdate(sop=REFUSED["spaces"]))
    assert platform.agents.get(side.principal, side.agent.id).spec.sop == before


def test_a_real_sop_update_still_goes_through(site: tuple[Platform, Side]) -> None:
    platform, side = site
    updated = platform.agents.update(side.principal, side.agent.id, AgentUpdate(sop=ACCEPTED["fr"]))
    assert updated.spec.sop == ACCEPTED["fr"]
