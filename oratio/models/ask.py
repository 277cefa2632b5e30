"""One bounded structured call to a model, for the parts the platform writes with one (brief, analysis).

Blocking: it runs its own event loop, so it is called from a worker thread (the brief writer's, the
session sweeper's), never from a loop that serves customers. Bounded in time (`seconds`) and in what
comes back (the caller's pydantic schema caps every field); the prompt's size is the caller's to cap.
Any failure (provider error, timeout, an answer that does not validate) is None and a log line,
never an exception: the caller keeps what it wrote without a model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from pydantic import BaseModel

if TYPE_CHECKING:
    from strands.models import Model as StrandsModel

logger = logging.getLogger("oratio.models.ask")

T = TypeVar("T", bound=BaseModel)


def ask_structured(
    factory: Callable[[], StrandsModel],
    output: type[T],
    prompt: str,
    *,
    system_prompt: str,
    seconds: float,
    what: str,
) -> T | None:
    """The model's answer as `output`, or None (logged, with `what` it was for) on any failure."""
    try:
        return anyio.run(_ask, factory, output, prompt, system_prompt, seconds)
    except Exception as exc:
        # The outermost handler for model trouble: provider SDKs, the network and the model's output can
        # fail in any way, and every caller has a model-free answer to fall back on.
        logger.warning("%s | model call failed (%s: %s); kept the model-free one", what, type(exc).__name__, exc)
        return None


async def _ask(
    factory: Callable[[], StrandsModel], output: type[T], prompt: str, system_prompt: str, seconds: float
) -> T | None:
    found: T | None = None
    with anyio.fail_after(seconds):
        model = factory()  # a fresh model per call: some provider clients are bound to one event loop
        messages: Any = [{"role": "user", "content": [{"text": prompt}]}]
        async for event in model.structured_output(output, messages, system_prompt=system_prompt):
            if "output" in event and isinstance(event["output"], output):
                found = event["output"]
    return found


def data_block(name: str, text: str) -> str:
    """`text` inside `<name>` tags, with every `<` and `>` in it escaped, so nothing in the data (a
    customer's words) can close the block and speak to the model as the instructions do."""
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<{name}>\n{safe}\n</{name}>"
