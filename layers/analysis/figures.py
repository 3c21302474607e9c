"""The headline figures, each with one definition, shared by every page.

A page passes each station's coverage state on its own basis (the Operations page:
bases on duty now; the Coverage page: all polling hours) and shows what comes out,
with :func:`definition` under the figures so that nobody has to guess what they count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COVERED = "covered"
PARTLY = "partly covered"
UNCOVERED = "uncovered"
# Any other state ("unknown", "unknown location") is a station without a usable location.


@dataclass(frozen=True)
class Headline:
    """Counts of stations and registered voters by coverage, on one time basis.

    Covered: a located station within the radius of a patrol base on duty through the
    whole basis. Uncovered: a located station that is not covered (partly covered ones
    included). Stations without a usable location are counted apart, in neither.
    Voter sums are None when no station has a registered-voter count (not known, not 0).
    """

    stations: int
    located: int
    covered: int
    partly_covered: int
    uncovered: int
    voters_covered: float | None
    voters_uncovered: float | None
    voters_located: float | None
    without_voters: int  # stations with no registered-voter count
    doubtful: int = 0  # of the unlocated: a location outside the country (layers.geo.outliers)

    @property
    def unlocated(self) -> int:
        return self.stations - self.located

    @property
    def covered_pct(self) -> float | None:
        """Covered stations, in % of the located ones."""
        return 100.0 * self.covered / self.located if self.located else None

    @property
    def voters_covered_pct(self) -> float | None:
        """Registered voters at covered stations, in % of those at located stations."""
        if self.voters_located is None or not self.voters_located:
            return None
        assert self.voters_covered is not None
        return 100.0 * self.voters_covered / self.voters_located


def headline(
    state: pd.Series, voters: pd.Series | None, doubtful: pd.Series | None = None
) -> Headline:
    """The :class:`Headline` of stations with coverage ``state`` and registered ``voters``;
    ``doubtful``: which have a location outside the country (counted apart)."""
    text = state.astype(object).to_numpy()
    covered = text == COVERED
    partly = text == PARTLY
    uncovered = (text == UNCOVERED) | partly
    located = covered | uncovered
    counts = (
        pd.Series(voters).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        if voters is not None
        else np.full(len(text), np.nan)
    )
    known = ~np.isnan(counts)
    weights = np.where(known, counts, 0.0)

    def total(mask: np.ndarray) -> float | None:
        return float(weights[mask].sum()) if known.any() else None

    return Headline(
        stations=len(text),
        located=int(located.sum()),
        covered=int(covered.sum()),
        partly_covered=int(partly.sum()),
        uncovered=int(uncovered.sum()),
        voters_covered=total(covered),
        voters_uncovered=total(uncovered),
        voters_located=total(located),
        without_voters=int((~known).sum()),
        doubtful=int(pd.Series(doubtful).fillna(False).astype(bool).sum())
        if doubtful is not None
        else 0,
    )


def of_stations(stations: pd.DataFrame, state: str) -> Headline:
    """The :class:`Headline` of a stations frame whose coverage state is column ``state``
    (its registered voters and doubtful locations read from their columns when present)."""
    return headline(
        stations[state], stations.get("registered_voters"), stations.get("location_doubtful")
    )


def count_text(value: float | None) -> str:
    """A count as shown: '12,345', or 'n/a' when it is not known."""
    return "n/a" if value is None else f"{value:,.0f}"


def pct_text(value: float | None) -> str:
    """A share as shown: '58.7%', or 'n/a' when it is not known."""
    return "n/a" if value is None else f"{value:.1f}%"


def definition(figures: Headline, basis: str) -> str:
    """The line under the figures: what each counts, on ``basis`` ('now' or 'all polling
    hours'), and what is left out of them."""
    parts = [
        f"Covered: a located station within the radius of a patrol base on duty {basis}; "
        f"uncovered: located and not covered {basis}"
        + (" (partly covered included)" if basis != "now" else "")
        + ". % voters covered: registered voters at covered stations, of those at "
        "located stations."
    ]
    if figures.unlocated:
        doubtful = (
            f" ({figures.doubtful:,} of them with a location outside the country, "
            "'location doubtful': see the Feeds page)"
            if figures.doubtful
            else ""
        )
        parts.append(
            f"{figures.unlocated:,} stations without a usable location are in neither{doubtful}."
        )
    if figures.voters_located is None:
        parts.append("No station has a registered-voter count, so voter figures are n/a.")
    elif figures.without_voters:
        parts.append(f"{figures.without_voters:,} stations have no registered-voter count.")
    return " ".join(parts)
