"""The code package AgentCore Runtime runs: one deterministic zip that serves all three runtimes.

What AgentCore's code deployment expects (`agentRuntimeArtifact.codeConfiguration`): a zip in S3
(`code.s3 {bucket, prefix}`, `prefix` being the object key), a managed `runtime` (PYTHON_3_11 here)
and an `entryPoint` of one or two items naming a file at the zip's root (`["oratio_mcp_server.py"]`,
or `["opentelemetry-instrument", "oratio_mcp_server.py"]`). AgentCore does not install packages: the
dependencies must be inside the zip, built for Linux ARM64 (its microVMs are Graviton). So the zip is

    oratio_mcp_server.py  oratio_creator.py  oratio_agents.py   the three entry points (launchers)
    schemas/ oratio/ oratio_app/ creator_agent/ agentcore_apps/ mcp_server/  this checkout's packages
    requirements.txt                                              the pinned dependency closure
    <site-packages>                                               those dependencies (pip --target)

Deterministic: entries sorted, timestamps fixed, modes normalised, so the same sources and
dependencies give the same bytes and the same SHA-256, which names the object in S3. Re-deploying
unchanged code therefore uploads nothing and updates no runtime.

Never packed: `__pycache__`, compiled files, tests, virtualenvs, and anything that looks like a key,
a database or an env file (a data directory left inside a package folder must not ship).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy.errors import DeployError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schemas", "oratio", "oratio_app", "creator_agent", "agentcore_apps", "mcp_server")
DISTRIBUTION = "oratio"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    "tests",
    ".venv",
    "venv",
    ".oratio",
    ".env",
    ".env.*",
    "*.key",
    "*.pem",
    "*.db",
    "*.db-*",
    "*.sqlite",
)
ARM64_PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.11"

# Launchers: AgentCore starts `python <entry file>`; each serves its door (`oratio_app.doors`) at the
# address AgentCore's contract fixes (HTTP runtimes on 8080, MCP on 8000, all interfaces).
LAUNCHERS: dict[str, str] = {
    "oratio_mcp_server.py": "from oratio_app.doors import main\n\n"
    'raise SystemExit(main(["mcp", "--host", "0.0.0.0", "--port", "8000", "--agentcore"]))\n',
    "oratio_creator.py": "from oratio_app.doors import main\n\n"
    'raise SystemExit(main(["creator", "--host", "0.0.0.0", "--port", "8080", "--agentcore"]))\n',
    "oratio_agents.py": "from oratio_app.doors import main\n\n"
    'raise SystemExit(main(["runtime", "--host", "0.0.0.0", "--port", "8080"]))\n',
}


@dataclass(frozen=True)
class Package:
    data: bytes
    sha256: str
    names: tuple[str, ...]

    @property
    def key(self) -> str:
        """Content-addressed object key: the same code is the same object."""
        return f"deploy/oratio-{self.sha256[:16]}.zip"


def _excluded(parts: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in EXCLUDED)


def _files(root: Path, top: Path) -> Iterable[tuple[str, Path]]:
    for path in sorted(top.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and not _excluded(relative.parts):
            yield relative.as_posix(), path


def pinned_requirements(distribution: str = DISTRIBUTION) -> list[str]:
    """`name==version` for the installed closure of the distribution's runtime (non-extra) dependencies."""
    pins: dict[str, str] = {}
    pending = [distribution]
    while pending:
        name = pending.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError as exc:
            raise DeployError(f"{name} is not installed here; install Oratio first (scripts/bootstrap)") from exc
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue  # an extra's dependency, or one for another platform
            key = canonicalize_name(requirement.name)
            if key in pins:
                continue
            try:
                pins[key] = f"{key}=={metadata.version(requirement.name)}"
            except metadata.PackageNotFoundError as exc:
                raise DeployError(f"dependency {requirement.name} is not installed; reinstall Oratio") from exc
            pending.append(requirement.name)
    return [pins[key] for key in sorted(pins)]


def install_dependencies(requirements: Sequence[str], target: Path) -> Path:
    """pip-install the pinned closure as Linux ARM64 wheels into `target` (reaches PyPI; not run by tests)."""
    listing = target.parent / "requirements.txt"
    listing.write_text("\n".join(requirements) + "\n")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target)]
    command += ["--platform", ARM64_PLATFORM, "--python-version", PYTHON_VERSION, "--only-binary=:all:"]
    command += ["--implementation", "cp", "-r", str(listing)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise DeployError(f"could not fetch the ARM64 dependencies: {last}")
    return target


def build_package(requirements: Sequence[str], dependencies: Path | None = None, root: Path = PROJECT_ROOT) -> Package:
    """The zip, in memory. `dependencies` is a `pip --target` folder (None: code only, for tests/plans)."""
    entries: dict[str, bytes] = {name: text.encode() for name, text in LAUNCHERS.items()}
    entries["requirements.txt"] = ("\n".join(requirements) + "\n").encode()
    for package in PACKAGES:
        if not (root / package).is_dir():
            raise DeployError(f"package {package}/ not found under {root}")
        entries.update({name: path.read_bytes() for name, path in _files(root, root / package)})
    if dependencies is not None:
        for name, path in _files(dependencies, dependencies):
            entries.setdefault(name, path.read_bytes())  # Oratio's own packages win over any copy
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=6)
    data = buffer.getvalue()
    return Package(data=data, sha256=hashlib.sha256(data).hexdigest(), names=tuple(sorted(entries)))


__all__ = ["LAUNCHERS", "PACKAGES", "Package", "build_package", "install_dependencies", "pinned_requirements"]
