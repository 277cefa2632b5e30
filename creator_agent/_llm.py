"""One bounded structured-output call to a model, with every failure turned into `CreationFailed`.

Stages call the model's own `structured_output` (the provider's native JSON/tool mode) rather than
`Agent.structured_output`, which Strands 1.62 deprecates, or `invoke(structured_output_model=...)`,
which runs a whole tool loop for one answer. A fresh model is built for every call because some
providers (Anthropic, llama.cpp) keep a client bound to the event loop they first ran on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from strands.models import Model
from strands.types.content import Messages
from strands.types.exceptions import ModelThrottledException

from creator_agent.errors import CreationFailed
from creator_agent.list_caps import fit_lists, lenient, schema_errors
from oratio.errors import OratioError
from oratio.services.creation import AnswerPending
from schemas.creation import StageName

logger = logging.getLogger("creator_agent")

T = TypeVar("T", bound=BaseModel)

ModelFactory = Callable[[], Model]
"""Builds the model a stage talks to; tests pass `lambda: scripted_model`."""

THROTTLE_RETRIES = 1
"""One quick retry when the provider throttles; anything longer belongs to the caller's retry policy."""
THROTTLE_DELAY = 1.0


async def structured_call(
    *,
    stage: StageName,
    factory: ModelFactory,
    output: type[T],
    prompt: str,
    system_prompt: str,
    seconds: float,
) -> T:
    """Ask a model for one `output`, within `seconds` per attempt; CreationFailed on any failure."""
    messages: Messages = [{"role": "user", "content": [{"text": prompt}]}]
    name = output.__name__
    # The model answers into a copy of `output` without list caps; over-long lists are then merged or cut
    # (noted in `ambiguities`) before the real schema validates, so a long SOP is never a schema error.
    relaxed = lenient(output)
    for attempt in range(THROTTLE_RETRIES + 1):
        try:
            model = factory()
            result: T | None = None
            with anyio.fail_after(seconds):
                async for event in model.structured_output(relaxed, messages, system_prompt=system_prompt):
                    if "output" in event:
                        found = event["output"]
                        if isinstance(found, output):
                            result = found
            if result is None:
                raise CreationFailed(stage, f"the model gave no {name}")
            return output.model_validate(fit_lists(result, output))
        except ModelThrottledException:
            if attempt < THROTTLE_RETRIES:
                await anyio.sleep(THROTTLE_DELAY)
                continue
            raise CreationFailed(stage, "the model provider is throttling requests; try again later") from None
        except TimeoutError:
            raise CreationFailed(stage, f"the model gave no {name} within {seconds:g}s") from None
        except ValidationError as exc:
            raise CreationFailed(stage, f"the model's {name} did not fit the schema: {schema_errors(exc)}") from None
        except (CreationFailed, AnswerPending):
            raise
        except OratioError as exc:  # e.g. ConfigError: the model spec names a provider whose SDK is missing
            raise CreationFailed(stage, exc.message) from None
        except Exception as exc:
            # The outermost handler for model trouble: provider SDKs, the network and the model's own
            # output can fail in any way, and creation must still end with a stage and a reason.
            logger.warning("stage=%s error=%s | model call failed", stage.value, type(exc).__name__, exc_info=True)
            raise CreationFailed(stage, f"the model call failed ({type(exc).__name__})") from None
    raise AssertionError("unreachable")  # pragma: no cover
