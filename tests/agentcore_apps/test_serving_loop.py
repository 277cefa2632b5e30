"""Where a turn runs: on the loop that serves its request, not on AgentCore's worker loop.

AgentCore's app would hand Oratio's async entrypoint to a worker loop in a thread of its own; the
runtime awaits it on the serving loop instead (`agentcore_apps.app._ServingLoopApp`), which saves
two cross-thread wake-ups per turn (bench/runtime_overhead.py). These tests pin where the model is
called, for a JSON and a streamed turn; `test_ping_answers_while_a_turn_is_stuck_in_the_model`
(test_turns.py) pins that `/ping` still answers while a turn waits on its model.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from agentcore_apps.app import create_runtime_app
from oratio.models import Prompt, Say, ScriptedModel, Step
from tests.agentcore_apps.test_turns import sse_events
from tests.support.platforms import open_test_platform
from tests.support.serving import serving
from tests.support.tenants import mint, new_agent, new_tenancy

WORKER_LOOP_THREAD = "agentcore-worker-loop"  # bedrock_agentcore.runtime.app names its worker thread so


def test_json_and_streamed_turns_run_on_the_serving_loop(tmp_path: Path) -> None:
    threads: list[str] = []

    def answer(prompt: Prompt) -> Step:
        threads.append(threading.current_thread().name)
        return Say("Here to help.")

    factory = lambda spec: ScriptedModel(rules=[answer])  # noqa: E731
    with open_test_platform(tmp_path, models=factory) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
        earlier = set(threading.enumerate())  # another test in this process may have started one of its own
        with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url) as http:
            headers = {"X-Api-Key": secret}
            plain = http.post("/invocations", json={"agent_id": agent.id, "message": "hi"}, headers=headers)
            body = {"agent_id": agent.id, "message": "hi again", "stream": True}
            streamed = http.post("/invocations", json=body, headers=headers)
            serving_threads = {t.name for t in set(threading.enumerate()) - earlier}
    assert plain.status_code == 200, plain.text
    assert plain.json()["reply"] == "Here to help."
    assert sse_events(streamed)[-1]["reply"] == "Here to help."
    assert len(threads) == 2
    assert WORKER_LOOP_THREAD not in threads, "the turn was handed to AgentCore's worker loop"
    assert WORKER_LOOP_THREAD not in serving_threads, "AgentCore's worker loop was started"
