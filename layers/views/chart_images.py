"""Plotly charts as PNG for a briefing pack: kaleido, through Debian's Chromium.

Kaleido starts a browser for each image unless a server is running: the first image here
starts one for the process (about 3.5 s), and every later image takes about 0.3 s.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import plotly.graph_objects as go

WIDTH, HEIGHT, SCALE = 700, 450, 2.5  # 1750 x 1125 px: about 250 dpi at 18 cm wide

_lock = threading.Lock()
_started = False


class ChartsFailed(RuntimeError):
    """The charts could not be drawn; the message says why."""


def warm() -> None:
    """Start kaleido's browser now (on a thread of its own), so that the first pack does
    not wait for it; a failure is reported when charts are asked for."""
    threading.Thread(target=_start, name="pollwatch-kaleido", daemon=True).start()


def _start() -> None:
    with _lock:
        if not _started:
            try:
                _start_locked()
            except Exception:  # noqa: BLE001  said when charts are asked for (ChartsFailed)
                return


def chart_pngs(figures: Sequence[go.Figure]) -> list[bytes]:
    """Each figure as PNG bytes, white background, the size of a third of a page."""
    if not figures:
        return []
    with _lock:  # one browser, one image at a time
        try:
            if not _started:
                _start_locked()
            return [
                go.Figure(fig)
                .update_layout(paper_bgcolor="white", plot_bgcolor="white")
                .update_xaxes(automargin=True)  # whole area names, on a narrower picture
                .update_yaxes(automargin=True)
                .to_image(format="png", width=WIDTH, height=HEIGHT, scale=SCALE)
                for fig in figures
            ]
        except Exception as error:  # kaleido's own errors, a missing or dying Chromium
            raise ChartsFailed(f"kaleido could not draw the charts: {error}") from error


def _start_locked() -> None:
    global _started
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    _started = True
