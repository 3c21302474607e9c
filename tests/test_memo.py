"""The memo every cache of layers/ uses: bounded, least recently used out, locked."""

from __future__ import annotations

import threading

from layers.core.memo import Memo


def test_built_once_per_key_and_the_least_recently_used_goes_first() -> None:
    memo: Memo[int] = Memo(2)
    builds: list[str] = []

    def build(key: str) -> int:
        builds.append(key)
        return len(key)

    assert memo.get("a", lambda: build("a")) == 1
    assert memo.get("bb", lambda: build("bb")) == 2
    assert memo.get("a", lambda: build("a")) == 1  # kept; "a" is now the most recent
    memo.get("ccc", lambda: build("ccc"))  # "bb" goes
    assert builds == ["a", "bb", "ccc"]
    assert memo.peek("bb") is None and memo.peek("a") == 1


def test_sessions_asking_at_once_get_right_values() -> None:
    memo: Memo[int] = Memo(8)
    wrong: list[int] = []
    start = threading.Barrier(8)

    def session(k: int) -> None:
        start.wait()
        for i in range(500):
            key = (i + k) % 12
            if memo.get(key, lambda key=key: key * key) != key * key:
                wrong.append(key)

    threads = [threading.Thread(target=session, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong and len(memo._values) <= 8
