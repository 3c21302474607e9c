"""A real PostgreSQL with PostGIS for the tests, from Debian's packages (``.ci/run``
installs ``postgresql`` and ``postgresql-15-postgis-3``): a cluster made with initdb in a
folder of its own and started with pg_ctl on a free port, stopped at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from browser import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS = Path("/usr/share/postgresql/15/extension/postgis.control")


def require_postgres() -> None:
    if not (BIN / "initdb").exists() or not POSTGIS.exists():
        pytest.skip(
            "PostgreSQL 15 with PostGIS is not installed (apt-get install postgresql "
            "postgresql-15-postgis-3; .ci/run does)"
        )


def _as_owner(command: list[str]) -> list[str]:
    """``command`` as the postgres user when we are root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(**settings: str) -> Iterator[str]:
    """A PostgreSQL server of its own; yields its URL (user ``pollwatch``, trust on
    127.0.0.1). ``settings``: more server settings (``wal_level="replica"``)."""
    require_postgres()
    folder = Path(tempfile.mkdtemp(prefix="pollwatch-pg-"))
    folder.chmod(0o755)
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_owner(
            [str(BIN / "initdb"), "-D", str(data), "-U", "pollwatch", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = " ".join(
        [
            f"-p {port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={folder}",
            "-c fsync=off",
            *(f"-c {k}={v}" for k, v in settings.items()),
        ]
    )
    log = folder / "server.log"
    subprocess.run(
        _as_owner(
            [str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://pollwatch@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_owner([str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
