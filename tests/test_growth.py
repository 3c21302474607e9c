"""Frames grown by appended rows, and values kept per frame."""

from __future__ import annotations

import gc

import pandas as pd

from layers.core import growth


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)]})


def appended(earlier: pd.DataFrame, rows: int) -> pd.DataFrame:
    more = pd.concat([earlier, frame(len(earlier) + rows).iloc[len(earlier) :]], ignore_index=True)
    growth.grew(more, earlier)
    return more


def test_a_grown_frame_extends_each_earlier_one_and_no_other() -> None:
    a = frame(3)
    b = appended(a, 2)
    c = appended(b, 1)
    assert growth.extends(c, a) and growth.extends(c, b) and growth.extends(a, a)
    assert not growth.extends(a, c)
    assert not growth.extends(frame(6), a)  # the same rows, but not recorded as grown
    assert growth.added_rows(c, a)["id"].tolist() == ["r3", "r4", "r5"]
    assert growth.added_rows(a, c) is None


def test_a_frame_still_extends_an_earlier_one_after_those_between_are_gone() -> None:
    a = frame(3)
    b = appended(a, 1)
    c = appended(b, 1)
    del b
    gc.collect()
    d = appended(c, 1)
    assert growth.extends(d, a) and growth.added_rows(d, a)["id"].tolist() == ["r3", "r4", "r5"]


def test_the_record_dies_with_the_frame() -> None:
    a = frame(2)
    b = appended(a, 1)
    key = id(b)
    del b
    gc.collect()
    assert key not in growth._ANCESTORS


def test_kept_builds_once_per_frame_and_grows_with_appended_rows() -> None:
    builds: list[int] = []

    def build(f: pd.DataFrame) -> set[str]:
        builds.append(len(f))
        return set(f["id"])

    a = frame(3)
    first = growth.kept(
        a, "test ids", lambda: build(a), lambda known, added: known | set(added["id"])
    )
    assert growth.kept(a, "test ids", lambda: build(a)) is first and builds == [3]
    b = appended(a, 2)
    grown = growth.kept(
        b, "test ids", lambda: build(b), lambda known, added: known | set(added["id"])
    )
    assert grown == {f"r{i}" for i in range(5)} and builds == [3]  # grown, not built
    assert first == {"r0", "r1", "r2"}  # the earlier value is left as it was
    other = frame(4)  # not grown from b: built
    assert growth.kept(other, "test ids", lambda: build(other), lambda k, a: k) == {
        f"r{i}" for i in range(4)
    }
    assert builds == [3, 4]


def test_kept_values_are_right_when_sessions_ask_at_once() -> None:
    import threading

    frames = [pd.DataFrame({"v": range(n)}) for n in (10, 20, 30)]
    wrong: list[tuple[int, int]] = []
    start = threading.Barrier(6)

    def session(k: int) -> None:
        start.wait()
        for i in range(300):
            frame = frames[(i + k) % 3]
            got = growth.kept(frame, "test sum", lambda frame=frame: int(frame["v"].sum()))
            if got != int(frame["v"].sum()):
                wrong.append((len(frame), got))

    threads = [threading.Thread(target=session, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
