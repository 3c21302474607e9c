"""A real PostgreSQL with PostGIS for the tests, from Debian's packages (``.ci/run``
installs ``postgresql-15`` and ``postgresql-15-postgis-3``): a cluster made with initdb in
a folder of its own and started with pg_ctl on a free port, and a hot standby of it made
with pg_basebackup; stopped and removed at the end."""

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
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL 15 with PostGIS is missing: .ci/run installs them")
        pytest.skip(
            "PostgreSQL 15 with PostGIS is not installed (apt-get install postgresql-15 "
            "postgresql-15-postgis-3; .ci/run does)"
        )


def _as_owner(command: list[str]) -> list[str]:
    """``command`` as the postgres user when we are root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """One PostgreSQL server: its data folder, port and URL."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql://pollwatch@127.0.0.1:{self.port}/postgres"

    def run(self, *command: str) -> None:
        subprocess.run(_as_owner(list(command)), check=True, capture_output=True)

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.folder}",
                "-c fsync=off",
                "-c wal_level=replica",
                "-c wal_receiver_status_interval=1",
            ]
        )
        log = self.folder / "server.log"
        self.run(
            str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start"
        )

    def stop(self) -> None:
        subprocess.run(
            _as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
        )


def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="pollwatch-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    return folder


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of its own (user ``pollwatch``, trust on 127.0.0.1)."""
    require_postgres()
    cluster = Cluster(_folder())
    cluster.run(
        str(BIN / "initdb"),
        "-D",
        str(cluster.data),
        "-U",
        "pollwatch",
        "--auth=trust",
        "-E",
        "UTF8",
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of its own; yields its URL."""
    with postgres_cluster() as cluster:
        yield cluster.url


@contextmanager
def standby_of(primary: Cluster) -> Iterator[Cluster]:
    """A hot standby of ``primary`` (pg_basebackup, streaming), started on its own port."""
    standby = Cluster(_folder())
    standby.run(
        str(BIN / "pg_basebackup"),
        "-h", "127.0.0.1", "-p", str(primary.port), "-U", "pollwatch",
        "-D", str(standby.data), "-R", "-X", "stream",
    )  # fmt: skip
    standby.start()
    try:
        yield standby
    finally:
        standby.stop()
        shutil.rmtree(standby.folder, ignore_errors=True)


def fresh_database(url: str) -> str:
    """A new, empty database on the server at ``url`` (one per test); its URL."""
    import uuid  # noqa: PLC0415

    import psycopg  # noqa: PLC0415

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name
