"""A real MCP server for the MCP client tests, run as its own process (mcp's server API, nothing faked).

    python -m tests.support.mcp_test_server http --port N --token T [--allow-host NAME]
    python -m tests.support.mcp_test_server stdio

Over HTTP it serves streamable HTTP at /mcp on 127.0.0.1 and answers 401 to any request without
`Authorization: Bearer T`. Its tools stand for an order desk: `find_order` (a read, structured
output), `cancel_order` (a write), `hang` (never answers), `fail` (a tool error), `big` (a long
answer), `leak_token` (echoes the bearer token back), `env_names` (what its environment holds), and
`Get-Status` / `get_status` (two names that sanitize to the same model-facing name).

Tests start it with `serving_http` (a real process on a free port, stopped for sure) or name
`STDIO_COMMAND` in ORATIO_MCP_STDIO_SERVERS.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.net import free_port
from tests.support.processes import running, wait_until_ready

TOKEN_ENV = "MCP_TEST_TOKEN"
JOURNAL_ENV = "MCP_TEST_JOURNAL"
"""A file the order tools append one JSON line per call to ({"tool", "arguments"}): what ran on the server."""
STDIO_COMMAND = [sys.executable, "-m", "tests.support.mcp_test_server", "stdio"]


def build_server() -> MCPServer:
    """The server and its tools (built on demand: MCPServer() configures logging, which importers must not get)."""
    server = MCPServer("orders-test", log_level="WARNING")

    @server.tool()
    def find_order(order_id: str) -> dict[str, str]:
        """Look up an order by its id: its status and delivery date."""
        if order_id == "A404":
            raise ToolError(f"no order {order_id}")
        _journal("find_order", order_id=order_id)
        return {"order_id": order_id, "status": "shipped", "delivery": "2026-12-10"}

    @server.tool()
    def cancel_order(order_id: str, reason: str) -> str:
        """Cancel an order that has not shipped yet."""
        _journal("cancel_order", order_id=order_id, reason=reason)
        return f"order {order_id} cancelled ({reason})"

    @server.tool()
    async def hang(pid_file: str = "") -> str:
        """Never answers (a server that hangs); writes its process id to `pid_file` first, if given."""
        if pid_file:
            await anyio.Path(pid_file).write_text(str(os.getpid()))
        await anyio.sleep_forever()
        return "unreachable"

    @server.tool()
    def fail() -> str:
        """Always fails with a tool error."""
        raise ToolError("the order system is down, try again in an hour")

    @server.tool()
    def big(size: int) -> str:
        """Answers `size` characters."""
        return "x" * size

    @server.tool()
    def leak_token() -> str:
        """Echoes the bearer token it expects (a server that leaks what it was sent)."""
        return f"my token is {os.environ.get(TOKEN_ENV, '')}"

    @server.tool()
    def env_names() -> list[str]:
        """The names of the environment variables this process was started with."""
        return sorted(os.environ)

    @server.tool(name="Get-Status")
    def get_status_dashed() -> str:
        """Status, dashed name."""
        return "ok"

    @server.tool(name="get_status")
    def get_status() -> str:
        """Status, underscored name."""
        return "ok"

    return server


def _journal(tool: str, **arguments: str) -> None:
    if path := os.environ.get(JOURNAL_ENV):
        with open(path, "a", encoding="utf-8") as journal:
            journal.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


def journal(path: Path) -> list[dict[str, Any]]:
    """The calls the server's order tools ran (`serving_http(journal=path)`), in order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def require_bearer(app: ASGIApp, token: str) -> ASGIApp:
    """401 for any HTTP request without the right bearer token (the lifespan passes)."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
            await JSONResponse({"error": "unauthorized"}, status_code=401)(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["http", "stdio"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="")
    parser.add_argument("--allow-host", action="append", default=[])
    parser.add_argument("--journal", default="", help="append each order tool call to this file (JSON lines)")
    parser.add_argument("--certfile", help="serve https with this certificate (PEM) and --keyfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args(argv)
    server = build_server()
    if args.transport == "stdio":
        server.run("stdio")
        return
    os.environ[TOKEN_ENV] = args.token
    if args.journal:
        os.environ[JOURNAL_ENV] = args.journal
    hosts = ["127.0.0.1:*", "localhost:*", *(f"{name}:*" for name in args.allow_host)]
    app: Any = server.streamable_http_app(
        host="127.0.0.1",
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts),
    )
    uvicorn.run(
        require_bearer(app, args.token),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
    )


@contextmanager
def serving_http(
    token: str,
    *,
    allow_hosts: Sequence[str] = (),
    tls: tuple[Path, Path] | None = None,
    journal: Path | None = None,
) -> Iterator[int]:
    """This server over streamable HTTP in its own process on a free 127.0.0.1 port; yields the port.

    `tls`: (certificate, key) PEM files to serve https instead. `journal`: a file the order tools record
    their calls in (read it with `journal(path)`).
    """
    port = free_port()
    command = [*STDIO_COMMAND[:-1], "http", "--port", str(port), f"--token={token}"]
    command += [] if journal is None else [f"--journal={journal}"]
    command += [arg for host in allow_hosts for arg in ("--allow-host", host)]
    if tls is None:
        with running(command, ready_url=f"http://127.0.0.1:{port}/mcp"):
            yield port
        return
    command += ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
    with running(command) as process:
        # Readiness only: any TLS answer will do, the certificate is checked by the test itself.
        wait_until_ready(lambda: httpx.get(f"https://127.0.0.1:{port}/mcp", verify=False), process, what="https")
        yield port


def issue_certificate(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for `host` it signed: (ca, cert, key) PEM files in `directory`."""
    now = datetime.datetime.now(datetime.UTC)

    def build(
        subject: str, issuer: str, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey, *, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("oratio test CA", "oratio test CA", ca_key, ca_key, ca=True)
    cert = build(host, "oratio test CA", key, ca_key, ca=False)
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


if __name__ == "__main__":
    main(sys.argv[1:])
