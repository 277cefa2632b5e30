"""AgentCreator cost: time from `create_agent` to `active` with a zero-latency scripted model.

With the model's own time at zero, what is measured is the platform's cost of a creation: storing the
agent and its documents, ingesting them, the stages' bookkeeping, code generation and validation, the
simulated scenarios through the runtime's agent loop, and deployment. Also printed: model calls
per creation. Baseline in the same run: ingesting the same documents alone.

    .venv/bin/python -m bench.creation [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from pydantic import SecretStr

from creator_agent.models import creator_models
from creator_agent.pipeline import AgentCreator
from oratio.config import Settings
from oratio.platform import open_platform
from oratio_app.cli import EXAMPLES, load_example
from schemas import CreateAgent, Principal, Scope


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    example = load_example(EXAMPLES / "acme_support")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), jwt_secret=SecretStr("b" * 40), model="scripted", embeddings=False)
        with open_platform(settings) as platform:
            tenant = platform.tenants.create_tenant("Bench")
            owner = Principal(tenant_id=tenant.tenant_id, subject="bench", scopes=frozenset({Scope.ADMIN}))
            creator = AgentCreator(platform, creator_models(settings), discovery=platform.mcp)
            ingest_only: list[float] = []
            full: list[float] = []
            calls: list[int] = []
            for run in range(args.runs):
                started = time.perf_counter()
                bare = CreateAgent(
                    spec=example.spec.model_copy(update={"name": f"Ingest {run}"}), documents=example.documents
                )
                platform.agents.create(owner, bare)
                ingest_only.append(time.perf_counter() - started)

                started = time.perf_counter()
                named = CreateAgent(
                    spec=example.spec.model_copy(update={"name": f"Agent {run}"}), documents=example.documents
                )
                agent = platform.agents.create(owner, named)
                record = anyio.run(creator.create, tenant.tenant_id, agent.id)
                full.append(time.perf_counter() - started)
                assert record.succeeded, record.failure
                calls.append(record.model_calls)
    p50_full, p50_ingest = statistics.median(full) * 1000, statistics.median(ingest_only) * 1000
    print(f"runs: {args.runs} (example: acme_support, 3 documents, scripted model with zero latency)")
    print(f"create_agent -> active        p50 {p50_full:8.1f} ms   max {max(full) * 1000:8.1f} ms")
    print(f"store + ingest only (baseline) p50 {p50_ingest:8.1f} ms")
    print(f"AgentCreator's own cost       p50 {p50_full - p50_ingest:8.1f} ms ({p50_full / p50_ingest:.1f}x baseline)")
    print(f"model calls per creation      {statistics.median(calls):.0f} (min {min(calls)}, max {max(calls)})")


if __name__ == "__main__":
    main()
