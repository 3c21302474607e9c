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


def test_a_key_being_built_is_waited_for_not_built_again_beside_it() -> None:
    memo: Memo[str] = Memo(8)
    builds: list[str] = []
    building, release = threading.Event(), threading.Event()

    def slow() -> str:
        builds.append("slow")
        building.set()
        assert release.wait(5)
        return "value"

    got: list[str] = []
    first = threading.Thread(target=lambda: got.append(memo.get("k", slow)))
    first.start()
    assert building.wait(5)
    second = threading.Thread(target=lambda: got.append(memo.get("k", lambda: "again")))
    second.start()
    other = memo.get("other", lambda: "free")  # another key is not held up meanwhile
    second.join(0.2)
    assert second.is_alive() and other == "free"  # waits for the build under way
    release.set()
    first.join(5)
    second.join(5)
    assert got == ["value", "value"] and builds == ["slow"]


def test_a_failed_build_lets_the_waiting_session_build_it() -> None:
    memo: Memo[str] = Memo(8)
    building, release = threading.Event(), threading.Event()

    def failing() -> str:
        building.set()
        assert release.wait(5)
        raise ValueError("feed unreadable")

    errors: list[Exception] = []

    def first() -> None:
        try:
            memo.get("k", failing)
        except ValueError as err:
            errors.append(err)

    thread = threading.Thread(target=first)
    thread.start()
    assert building.wait(5)
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(memo.get("k", lambda: "built here")))
    waiter.start()
    release.set()
    thread.join(5)
    waiter.join(5)
    assert got == ["built here"] and len(errors) == 1


def test_a_build_that_asks_for_its_own_key_does_not_wait_on_itself() -> None:
    memo: Memo[int] = Memo(8)

    def build(depth: int) -> int:
        return depth if depth == 3 else memo.get("k", lambda: build(depth + 1))

    assert memo.get("k", lambda: build(0)) == 3
