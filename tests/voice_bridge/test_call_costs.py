"""Issue 21 capacity: per-turn and per-frame work of a call that needs no worker thread gets none.

Behaviour is unchanged (the same grants, the same refusals); what is asserted is where the work ran.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import numpy as np
import pytest

from oratio.errors import Unauthenticated
from oratio.platform import Platform
from oratio.services.keys import KeyGrant
from tests.support.worlds import World
from voice_bridge.audio import rms
from voice_bridge.auth import authenticate
from voice_bridge.context import VoiceServices

pytestmark = pytest.mark.anyio


class StoreChecks:
    """The platform's key service, noting the thread of every check that goes to the store."""

    def __init__(self, platform: Platform) -> None:
        self._keys = platform.keys
        self.threads: list[int] = []

    def authenticate_cached(self, secret: str, agent_id: str) -> KeyGrant | None:
        return self._keys.authenticate_cached(secret, agent_id)

    def authenticate_for_agent(self, secret: str, agent_id: str) -> KeyGrant:
        self.threads.append(threading.get_ident())
        return self._keys.authenticate_for_agent(secret, agent_id)


class Services:
    def __init__(self, keys: StoreChecks) -> None:
        self.keys = keys


def services(keys: StoreChecks) -> VoiceServices:
    return cast(VoiceServices, cast(Any, Services(keys)))


async def test_a_key_verified_lately_is_checked_again_on_the_loop(platform: Platform, world: World) -> None:
    keys = StoreChecks(platform)
    first = await authenticate(services(keys), world.secret, world.agent.id)
    assert len(keys.threads) == 1 and keys.threads[0] != threading.get_ident()  # the store, in a worker thread
    for _ in range(3):  # each turn of the call re-checks the key
        assert await authenticate(services(keys), world.secret, world.agent.id) == first
    assert len(keys.threads) == 1  # answered from memory, with no thread hop

    platform.keys.revoke(world.acme.principal, world.key_id)
    with pytest.raises(Unauthenticated):  # a revocation in this process applies at once
        await authenticate(services(keys), world.secret, world.agent.id)


def test_the_energy_level_is_the_root_mean_square() -> None:
    rng = np.random.default_rng(7)
    for size in (1, 320, 1600):
        values = rng.integers(-32768, 32768, size=size).astype("<i2")
        expected = float(np.sqrt(np.mean(values.astype(np.float64) ** 2)))
        assert rms(values.tobytes()) == pytest.approx(expected, rel=1e-12)
    assert rms(np.full(320, -32768, dtype="<i2").tobytes()) == 32768.0  # the loudest frame, exactly
    assert rms(b"") == 0.0 and rms(b"\x01") == 0.0
