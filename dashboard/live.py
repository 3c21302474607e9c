"""Server push: one look at the feeds for every screen, and a rerun for each screen whose
picture is out of date.

Without it each session's watcher (a fragment with ``run_every``) looks for itself, on a
timer kept by its browser: a busy wall PC, or a browser that throttles the timers of a
window in the background, fires it late and its screen lags the others. Here one thread
per feed folder looks every ``POLLWATCH_REFRESH_S`` and asks every session that shows an
older picture to run again, as Streamlit does itself when a source file is saved
(``AppSession.request_rerun``). The sessions' own watchers stay as the fallback: if this
Streamlit has no such hook, pushing is off and the timers do the work, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.heap import trim

log = logging.getLogger("pollwatch.live")

# Values that act once (a click, a chat message): never replayed by a push.
TRIGGERS = ("trigger_value", "string_trigger_value", "json_trigger_value", "chat_input_value")


class Pusher:
    """Looks at the picture every ``every`` seconds and reruns each session that said
    (:meth:`showing`) it shows another one. Sessions see the picture through their
    audience (a role sees only its part, and is not rerun for a change it cannot see):
    ``look()`` gives a function from an audience to what its picture depends on, as
    :func:`layers.analysis.freshness.picture_key` gives it. A session is asked once per
    picture."""

    def __init__(self, every: float, look: Callable[[], Callable[[Hashable], Hashable]]) -> None:
        self.every = every
        self._look = look
        self._shown: dict[str, tuple[Hashable, Hashable]] = {}  # session -> audience, picture
        self._asked: dict[str, Hashable] = {}  # session id -> picture it was asked to show
        self._lock = threading.Lock()
        self.enabled = True
        self._thread = threading.Thread(target=self._run, name="pollwatch-push", daemon=True)
        self._thread.start()

    def showing(self, picture: Hashable, audience: Hashable = None) -> None:
        """The session of this script run shows ``picture``, as ``audience`` sees it."""
        ctx = get_script_run_ctx()
        if ctx is not None:
            with self._lock:
                self._shown[ctx.session_id] = (audience, picture)

    def _run(self) -> None:
        while self.enabled:
            time.sleep(self.every)
            if not self._watched():
                continue  # nobody watching: no look at all
            try:
                self.push(self._look())
            except Exception:  # the sessions' own watchers still look; say why, go on
                log.exception("the look for new pictures failed; screens rely on their timers")
            trim()  # what the last update freed goes back to the system

    def _watched(self) -> bool:
        """Forget the sessions closed for good; whether any session is left."""
        manager = runtime.get_instance()._session_mgr if runtime.exists() else None
        with self._lock:
            if manager is not None:
                for sid in [s for s in self._shown if manager.get_session_info(s) is None]:
                    self._shown.pop(sid, None)
                    self._asked.pop(sid, None)
            return bool(self._shown)

    def push(self, key_for: Callable[[Hashable], Hashable]) -> int:
        """Rerun every session whose picture is not its audience's picture now; how many."""
        manager = runtime.get_instance()._session_mgr if runtime.exists() else None
        if manager is None:
            return 0
        with self._lock:
            shown = dict(self._shown)
        now: dict[Hashable, Hashable] = {}
        behind = []
        for sid, (audience, picture) in shown.items():
            if audience not in now:
                now[audience] = key_for(audience)
            if picture != now[audience] and self._asked.get(sid) != now[audience]:
                behind.append((sid, now[audience]))
        asked = 0
        for sid, picture in behind:
            info = manager.get_active_session_info(sid)
            if info is None:
                if manager.get_session_info(sid) is None:  # closed for good
                    with self._lock:
                        self._shown.pop(sid, None)
                        self._asked.pop(sid, None)
                continue
            if _running(info.session):  # asked at the next look: a push never cuts a run
                continue
            if not self._rerun(info.session):
                return asked
            with self._lock:
                self._asked[sid] = picture
            asked += 1
        return asked

    def _rerun(self, session: Any) -> bool:
        """A full rerun of ``session`` with the state its browser last sent, without
        replaying a button click and not only a fragment."""
        last = getattr(session, "_client_state", None)
        if last is None or not hasattr(session, "request_rerun"):
            log.warning("this Streamlit cannot rerun a session from the server: push is off")
            self.enabled = False
            return False
        if not last.page_script_hash:  # no run of its browser's yet: its page, its filters
            return True  # unknown; its own first run shows the picture of now anyway
        state = type(last)()
        state.CopyFrom(last)
        state.fragment_id = ""
        state.is_auto_rerun = False
        state.is_history_navigation = False
        state.ClearField("cached_message_hashes")  # what the browser kept may have changed
        kept = [w for w in state.widget_states.widgets if w.WhichOneof("value") not in TRIGGERS]
        del state.widget_states.widgets[:]
        state.widget_states.widgets.extend(kept)
        session.request_rerun(state)
        return True


def _running(session: Any) -> bool:
    """The session's script is running now (a rerun asked now would stop it: under load,
    runs cut again and again would never finish)."""
    state = getattr(session, "_state", None)
    return getattr(state, "name", None) == "APP_IS_RUNNING"
