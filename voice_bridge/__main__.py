"""`python -m voice_bridge`: the voice bridge on its own (the same app `oratio serve` mounts at /voice).

    python -m voice_bridge                       # 127.0.0.1:8765: WS /voice/{agent_id}, GET /voice/client
    python -m voice_bridge --host 0.0.0.0 --port 9000

Configuration is the platform's (`ORATIO_*`: the same store, blobs and model as the admin side, so
calls reach the agents deployed there) plus `ORATIO_VOICE_*` (backend and limits; see docs/voice.md).
A bad configuration exits with status 2 and one line that says what to fix.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

DEFAULT_PORT = 8765


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice_bridge", description="Serve Oratio voice calls")
    parser.add_argument("--host", default=os.environ.get("ORATIO_VOICE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ORATIO_VOICE_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)

    import uvicorn

    from oratio.config import load_settings
    from oratio.errors import OratioError
    from oratio.platform import open_platform
    from voice_bridge.app import create_standalone_app
    from voice_bridge.settings import load_voice_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
        voice = load_voice_settings()
        with open_platform(settings) as platform:
            app = create_standalone_app(platform, settings=voice)
            print(
                f"voice bridge: ws://{args.host}:{args.port}/voice/<agent id>, page http://{args.host}:{args.port}/voice/client"
            )
            ws_max_size = voice.websocket_message_limit()
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws_max_size=ws_max_size)
    except OratioError as exc:
        print(f"oratio voice: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
