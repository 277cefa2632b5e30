"""The embedded data directory: created private, checked usable, tightened when an older Oratio left it open.

Everything Oratio keeps locally (SQLite files with their -wal/-shm companions, blobs, recordings,
generated keys) sits under one directory and is readable by the owner only: the directory and every
folder under it 0700, every file 0600. The process umask is set to 077 by the CLI so files SQLite and
the blob store create later are private from their first byte; `prepare` fixes what exists already.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from oratio.errors import ConfigError

logger = logging.getLogger("oratio.datadir")

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
PROBE = ".oratio-write-probe"


def private_umask() -> None:
    """Files and folders this process creates from now on are the owner's alone (umask 077)."""
    os.umask(PRIVATE_UMASK)


def make_private_dirs(path: Path) -> None:
    """`mkdir -p` whose every new level is 0700 whatever the umask (a library user may not set one)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another writer made it meanwhile
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is masked by the umask


def make_private_database(path: Path) -> None:
    """Make a SQLite database and its -wal/-shm companions the owner's only, whatever umask made them.

    SQLite creates later -wal/-shm files with the database file's mode, so fixing it once suffices.
    """
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if stat.S_IMODE(file.stat().st_mode) & ~FILE_MODE:
                os.chmod(file, FILE_MODE)
        except FileNotFoundError:
            continue


def prepare(data_dir: Path, *, create: bool) -> int:
    """Check `data_dir` is a writable directory (creating it 0700 if `create`); tighten looser modes.

    Returns how many paths were tightened (logged in one line). A path that is a file, cannot be
    created or cannot be written is a ConfigError naming it, so the CLI says it in one line.
    """
    if not data_dir.exists():
        if not create:
            raise ConfigError(
                f"no Oratio data in {data_dir} (set ORATIO_DATA_DIR or --data-dir; `oratio init` makes one)"
            )
        try:
            data_dir.mkdir(mode=DIR_MODE, parents=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the data dir {data_dir}: {exc.strerror}") from None
    if not data_dir.is_dir():
        raise ConfigError(f"the data dir {data_dir} is not a directory")
    _check_writable(data_dir)
    tightened = tighten(data_dir)
    if tightened:
        logger.warning(
            "data_dir=%s tightened=%d | made the data dir private (folders 0700, files 0600)", data_dir, tightened
        )
    return tightened


def _check_writable(data_dir: Path) -> None:
    probe = data_dir / PROBE
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"the data dir {data_dir} is not writable: {exc.strerror}") from None


def tighten(data_dir: Path) -> int:
    """chmod folders to 0700 and files to 0600 where they allow more; symlinks are left alone."""
    changed = 0
    for path in (data_dir, *data_dir.rglob("*")):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:  # a WAL companion removed while we walked
            continue
        if stat.S_ISLNK(mode):
            continue
        wanted = DIR_MODE if stat.S_ISDIR(mode) else FILE_MODE
        if stat.S_IMODE(mode) & ~wanted:
            os.chmod(path, stat.S_IMODE(mode) & wanted)
            changed += 1
    return changed
