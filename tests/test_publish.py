"""Map datasets published as content-addressed files, safe across sessions."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from pathlib import Path

from layers.views.publish import Publisher, gzipped


def test_one_build_per_key_one_file_per_content_and_old_files_removed(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path, "/pollwatch/data/operations", keep=2, keep_s=0)
    builds: list[int] = []

    def build(n: int) -> dict[str, object]:
        builds.append(n)
        return {"main": {"n": n}, "details": {"n": n, "columns": {}}}

    first = publisher.publish("stations", ("v", 1), lambda: build(1))
    assert publisher.publish("stations", ("v", 1), lambda: build(99)) == first
    assert builds == [1]
    again = publisher.publish("stations", ("v", "same content"), lambda: build(1))
    assert again == first  # the same content keeps its URL: the browser keeps its copy
    name = first["main"].rsplit("/", 1)[1]
    assert first["main"].startswith("/pollwatch/data/operations/stations-main-")
    assert json.loads((tmp_path / name).read_text()) == {"n": 1}
    for n in range(2, 6):
        publisher.publish("stations", ("v", n), lambda n=n: build(n))
    assert len(list(tmp_path.glob("stations-main-*.json"))) == 2  # the newest two stay


def test_a_file_handed_out_recently_is_never_removed_and_a_removed_one_comes_back(
    tmp_path: Path,
) -> None:
    publisher = Publisher(tmp_path, "/data", keep=1, keep_s=60)
    first = publisher.publish("convoys", 0, lambda: {"main": {"n": 0}})
    path = tmp_path / first["main"].rsplit("/", 1)[1]
    for n in range(1, 30):  # a second of pings each, as a busy feed writes them
        publisher.publish("convoys", n, lambda n=n: {"main": {"n": n}})
    assert path.exists()  # a browser given it a moment ago may still fetch it
    old = time.time() - 120
    for stale in tmp_path.glob("convoys-main-*.json"):
        os.utime(stale, (old, old))
    assert publisher.publish("convoys", 5, lambda: {"main": {"n": -1}}) is not None  # in use
    publisher.publish("convoys", 30, lambda: {"main": {"n": 30}})
    left = {json.loads(p.read_text())["n"] for p in tmp_path.glob("convoys-main-*.json")}
    assert left == {5, 30}  # the one just handed out again, and the newest
    assert not path.exists()
    again = publisher.publish("convoys", 0, lambda: {"main": {"n": 0}})  # its memo says path
    assert again == first and path.exists()


def test_many_sessions_publishing_at_once_agree(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path, "/data")
    answers: list[dict[str, str]] = []
    start = threading.Barrier(8)

    def session() -> None:
        start.wait()
        for n in range(20):
            urls = publisher.publish("incidents", n % 5, lambda n=n: {"main": {"n": n % 5}})
            if n == 19:
                answers.append(urls)

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a["main"] for a in answers}) == 1
    for path in tmp_path.glob("incidents-main-*.json"):
        json.loads(path.read_text())  # whole files only


def test_a_large_dataset_is_compressed_once_and_goes_with_its_file(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path, "/pollwatch/data/operations", keep=1, keep_s=0)
    big = {"x": list(range(40_000))}  # over GZIP_FROM as JSON
    url = publisher.publish("stations", 1, lambda: {"main": big, "tiny": {"n": 1}})
    path = tmp_path / url["main"].rsplit("/", 1)[1]
    compressed = gzipped(path)
    for _ in range(100):  # written in a thread of its own
        if compressed.exists():
            break
        time.sleep(0.05)
    assert gzip.decompress(compressed.read_bytes()) == path.read_bytes()
    assert oct(compressed.stat().st_mode & 0o777) == "0o600"
    assert not gzipped(tmp_path / url["tiny"].rsplit("/", 1)[1]).exists()  # the server's job
    publisher.publish("stations", 2, lambda: {"main": {"x": [*range(40_000), 1]}, "tiny": {}})
    assert not path.exists() and not compressed.exists()  # superseded: both removed
