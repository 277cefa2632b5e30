"""`python -m oratio_app ...`: the `oratio` command without its console script (e.g. in a container)."""

import sys

from oratio_app.cli import main

sys.exit(main())
