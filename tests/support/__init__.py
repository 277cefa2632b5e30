"""What tests in several packages build on: platforms, tenants, agents, worlds, served apps, processes.

Plain modules, not conftests: a test imports `tests.support.<module>` by name, so nothing depends on
another package's conftest, and the root `tests/conftest.py` builds its fixtures from these.

- `platforms`: `open_test_platform` (one tmp data dir, settings overrides, optional scripted models,
  a hand-moved clock, DynamoDB + S3 on moto), `test_settings`, `FakeClock`, `JWT_SECRET`.
- `models`: the scripted agents tests talk to (echo, voice, handoff).
- `tenants`: a tenant with its admin principal, agents (created, active, deployed), API keys, JWTs,
  the event log.
- `worlds`: the two-tenant `World` the doors are tested against; `EngineWorld` for the engine.
- `serving`: apps under a real uvicorn on 127.0.0.1 (`serving`, `serving_built`, `serving_voice`).
- `mcp`: calling MCP tools that must succeed or fail.
- `processes`: start a subprocess, wait for it within a bound, stop it for sure.
"""
