"""One decision about an agent's model, for creation and for every turn: allowed, resolved, usable.

`AgentService` asks it when a spec is stored (a name outside the allow-list is the tenant's 4xx; a
model that cannot run here fails the creation at once, with the reason) and the conversation engine
asks it which spec to build (a model that cannot run is a 503 with the reason, never a 500).
"""

from __future__ import annotations

from oratio.config import Settings
from oratio.errors import ModelUnavailable
from oratio.models.allowed import ModelAllowList, parse_allowed
from oratio.models.check import ModelProbes, check_model

NO_MODEL = (
    "no model is configured on this server (the operator sets ORATIO_MODEL, e.g. bedrock, ollama:<model>, "
    "llamacpp, local, or scripted offline)"
)


class ModelGate:
    def __init__(self, settings: Settings, probes: ModelProbes | None = None) -> None:
        self._settings = settings
        self._probes = probes
        self.allowed: ModelAllowList = parse_allowed(settings.models_allowed, settings.model)

    @property
    def has_platform_model(self) -> bool:
        return self._settings.model is not None

    def check_choice(self, requested: str | None) -> None:
        """InvalidInput (field `model`) unless a tenant may pick `requested`."""
        self.allowed.check(requested)

    def spec_for(self, requested: str | None) -> str:
        """The spec to build for an agent whose `model` is `requested` (None: the platform's model).

        ModelUnavailable when there is none, or when an agent stored before the allow-list names a
        model it no longer holds: the customer is not at fault, and no address in it is ever used.
        """
        if requested is not None:
            spec = self.allowed.entries.get(requested.strip())
            if spec is None:
                raise ModelUnavailable("this agent's model is not one the server allows; its admin must choose another")
            return spec
        if self._settings.model is None:
            raise ModelUnavailable(NO_MODEL)
        return self._settings.model

    def problem(self, requested: str | None) -> str | None:
        """Why the model an agent with `model=requested` would run cannot run here; None if it can."""
        spec = self.allowed.entries.get(requested.strip()) if requested is not None else self._settings.model
        if spec is None:
            return NO_MODEL if requested is None else "the model is not allowed on this server"
        return check_model(spec, self._settings, self._probes)


def start_line(settings: Settings) -> str | None:
    """The one line `oratio serve` prints when the platform's model cannot run here, else None.

    No model at all is already said by the model-choice line (`oratio.models.choice`)."""
    if settings.model is None:
        return None
    found = check_model(settings.model, settings)
    return None if found is None else f"model problem: {found}; agents on this model cannot be built or answer"


__all__ = ["NO_MODEL", "ModelGate", "start_line"]
