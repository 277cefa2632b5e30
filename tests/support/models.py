"""The scripted agents tests talk to: zero-latency `ScriptedModel`s with the rules each door needs.

Each factory takes the agent's model spec (ignored) and returns a fresh model per turn, as
`oratio.models.create_model` does; pass one as `models=` to `open_test_platform`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from strands.models import Model

from oratio.models import CallTool, Data, Prompt, Say, ScriptedModel, Step, when_user_says

HANDOFF_REASON = "the customer asked for a person"
STORY = (
    "Once upon a time there was a support agent who loved long answers. "
    "Every morning it read the whole knowledge base from start to finish. "
    "Then it answered every question with three paragraphs and a poem. "
    "The customers were patient, but some of them interrupted now and then. "
    "And that is why barge in exists."
)
"""Several sentences: room for a caller to barge in."""


def echo(prompt: Prompt) -> Step:
    """The standing rule: repeat the customer's words inside a sentence of several deltas."""
    return Say(f"You said: {prompt.last_user_text()}. Anything else?")


def scripted_agent(spec: str) -> Model:
    """Ends the session on goodbye, echoes everything else."""
    return ScriptedModel(rules=[when_user_says("bye", "goodbye", then=CallTool("end_session")), echo])


def handoff_agent(spec: str) -> Model:
    """Hands off on 'human'/'person', ends on goodbye, echoes the rest."""
    return ScriptedModel(
        rules=[
            when_user_says("human", "person", then=CallTool("request_handoff", {"reason": HANDOFF_REASON})),
            when_user_says("bye", "goodbye", then=CallTool("end_session")),
            echo,
        ]
    )


def voice_agent(spec: str) -> Model:
    """Ends on 'goodbye', hands off on 'a person', tells `STORY` on 'story', echoes the rest."""
    return ScriptedModel(
        rules=[
            when_user_says("goodbye", then=CallTool("end_session")),
            when_user_says("a person", then=CallTool("request_handoff", {"reason": HANDOFF_REASON})),
            when_user_says("story", then=Say(STORY)),
            echo,
        ]
    )


class HeldAnswer:
    """A rule for a `ScriptedModel`: the structured call made with `system_prompt` (the brief writer's, say)
    answers `payload`, once the test sets `release`; other calls fall through to the next rule.

    How a test proves something runs off the customer's turn: the turn returns while the call is held.
    """

    def __init__(self, system_prompt: str, payload: Mapping[str, object], wait_s: float = 30.0) -> None:
        self.system_prompt = system_prompt
        self.payload = payload
        self.wait_s = wait_s
        self.asked = threading.Event()
        self.release = threading.Event()
        self.prompts: list[Prompt] = []

    def __call__(self, prompt: Prompt) -> Step | None:
        if prompt.system_prompt != self.system_prompt:
            return None
        self.prompts.append(prompt)
        self.asked.set()
        if not self.release.wait(self.wait_s):
            raise TimeoutError("the test never released the held answer")
        return Data(dict(self.payload))

    def agent(self, spec: str) -> Model:
        """`handoff_agent` with this rule first: a model factory for `platform_models`."""
        return ScriptedModel(
            rules=[
                self,
                when_user_says("human", "person", then=CallTool("request_handoff", {"reason": HANDOFF_REASON})),
                when_user_says("bye", "goodbye", then=CallTool("end_session")),
                echo,
            ]
        )
