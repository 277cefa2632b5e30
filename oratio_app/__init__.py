"""Oratio's composition root: the one place that imports the doors and wires them to the core.

`oratio_app.cli` is the `oratio` command, `oratio_app.web` assembles `oratio serve`'s HTTP app from
every door, `oratio_app.doors` serves one door alone (`python -m oratio_app serve-door ...`). Nothing
in the core (`schemas`, `oratio`) or in a door imports this package; see docs/architecture.md.
"""
