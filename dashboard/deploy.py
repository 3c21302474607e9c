"""Several dashboard replicas behind nginx: the proxy's configuration, and a command that
starts the replicas and nginx for one site.

    python -m dashboard.deploy --replicas 2 --port 8080 [--database postgresql://...]

nginx (Debian's package) spreads browsers over the replicas and keeps each one on its
replica: a browser without the ``pollwatch_route`` cookie is given one (nginx's request
id), and the upstream is chosen by a consistent hash of it, so a session's page, its
websocket and its datasets all reach the replica that holds its state. When that replica
stops, the connection to it fails and nginx passes the request on to the next
(``proxy_next_upstream``); Streamlit's page reconnects its websocket by itself and runs
again on the replica that answered. nginx's open-source build checks replicas
passively (``max_fails``, ``fail_timeout``: a replica that failed is left out for a
while); ``/_stcore/health`` on the proxy answers for the replica a browser would reach.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COOKIE = "pollwatch_route"

CONFIG = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    map $cookie_{cookie} $route {{ "" $request_id; default $cookie_{cookie}; }}
    upstream dashboards {{
        hash $route consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://dashboards;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;  # with its port: sign-in cookies name it
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1d;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            add_header Set-Cookie "{cookie}=$route; Path=/; HttpOnly; SameSite=Lax" always;
            add_header X-Pollwatch-Replica $upstream_addr always;  # which one answered
        }}
    }}
}}
"""


def nginx_config(folder: Path, port: int, replicas: Sequence[int]) -> str:
    """nginx's configuration: the proxy on ``port`` before the replicas on ``replicas``."""
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in replicas
    )
    return CONFIG.format(folder=folder, cookie=COOKIE, servers=servers, port=port)


def streamlit_command(script: Path, port: int, *args: str) -> list[str]:
    """The command that serves ``script`` on 127.0.0.1:``port``, headless."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        *args,
    ]


def start_replica(
    port: int, env: dict[str, str], log: Path, secrets: Path | None = None
) -> subprocess.Popen[bytes]:
    """One dashboard process on ``port`` (127.0.0.1); ``secrets``: Streamlit's secrets
    file with the sign-in's ``[auth]`` section, the same for every replica (its cookie
    secret signs the sign-in cookie, so any replica accepts a session's cookie)."""
    extra = ("--secrets.files", str(secrets)) if secrets is not None else ()
    return subprocess.Popen(
        streamlit_command(
            ROOT / "dashboard" / "app.py", port, "--browser.gatherUsageStats", "false", *extra
        ),
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def start_nginx(folder: Path, port: int, replicas: Sequence[int]) -> subprocess.Popen[bytes]:
    """nginx on ``port`` before ``replicas``, its files in ``folder``."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(nginx_config(folder, port, replicas))
    return subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(folder)],
        stdout=(folder / "nginx.out").open("wb"),
        stderr=subprocess.STDOUT,
    )


def wait_healthy(url: str, limit_s: float = 120.0) -> None:
    """Until ``url``/_stcore/health answers ok."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer its health check in {limit_s:g} s")


@dataclass
class Site:
    """A site's running parts: the proxy's URL, and each replica's process by its port."""

    url: str
    replicas: dict[int, subprocess.Popen[bytes]]
    proxy: subprocess.Popen[bytes]


@contextmanager
def running_site(
    env: dict[str, str],
    folder: Path,
    ports: Sequence[int],
    proxy_port: int,
    secrets: Path | None = None,
) -> Iterator[Site]:
    """Replicas on ``ports`` (settings ``env``, sign-in ``secrets``) and nginx before them
    on ``proxy_port``, each answering its health check; all stopped at the end. Logs and
    nginx's files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    replicas = {p: start_replica(p, env, folder / f"replica-{p}.log", secrets) for p in ports}
    proxy = None
    try:
        for p in ports:
            wait_healthy(f"http://127.0.0.1:{p}")
        proxy = start_nginx(folder / "nginx", proxy_port, list(ports))
        url = f"http://127.0.0.1:{proxy_port}"
        wait_healthy(url)
        yield Site(url, replicas, proxy)
    finally:
        for proc in [*([proxy] if proxy is not None else []), *replicas.values()]:
            proc.terminate()
        for proc in replicas.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="the proxy's port")
    parser.add_argument("--first-replica-port", type=int, default=8601)
    parser.add_argument("--database", default=os.environ.get("POLLWATCH_DATABASE"))
    parser.add_argument(
        "--secrets",
        type=Path,
        default=None,
        help="Streamlit's secrets.toml with the [auth] section, for every replica; its "
        "redirect_uri names the proxy (http(s)://<site>/oauth2callback)",
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="pollwatch-site-"))
    env = {"POLLWATCH_DATABASE": args.database} if args.database else {}
    ports = [args.first_replica_port + k for k in range(args.replicas)]
    with running_site(env, folder, ports, args.port, args.secrets) as site:
        print(f"the site: {site.url} ({len(ports)} replicas; logs in {folder})")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})


if __name__ == "__main__":
    main()
