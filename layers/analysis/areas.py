"""Which area a station or an incident belongs to: one rule for every page.

The rule (docs/feeds.md, "Areas"):

1. The row's own area field (``admin1``), when it has one. A registered station's
   area is what the commission's list says; coordinates are more often wrong than
   the list is. Names are compared without case, accents, spaces, punctuation or
   words such as "County" (:func:`fold`), and spelled as the area polygons spell them
   ("LOFA" is "Lofa"); a name very like one polygon's is read as that polygon's
   ("ELGEYO/MARAKWET" as "ELEGEYO-MARAKWET"), reported once; without a polygon of
   that name, as most rows spell it.
2. Otherwise the area polygon the location lies in.
3. Otherwise "(no area)".

When a row's own area and the polygon it lies in are different areas, the row is
reported once (a warning naming both), and counted under its own area.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core import growth
from layers.core.predicates import located
from layers.core.problems import Level, Problem

NO_AREA = "(no area)"
OWN = "admin1"
OWN_SUB = "admin2"
SUB = " / "  # a sub-area is named within its area: "Bong / Jorquelleh"


# Words that name the kind of area, not the area ("Lofa County", "Kano State"), and
# spellings of one word; left out or made one before names are compared.
KIND_WORDS = re.compile(
    r"\b(county|state|province|region|district|department|prefecture|lga|municipality)\b"
)
SAME_WORDS = ((re.compile(r"\bsaint\b|\bste?\b"), "st"), (re.compile(r"&"), " and "))
# How alike two folded names must be (difflib's ratio) to be read as one area spelled
# two ways: "elgeyomarakwet" and "elegeyomarakwet" are 0.97, "kisumu" and "kisii" 0.73.
SIMILAR = 0.88


def fold(name: object) -> str:
    """An area name as compared: 'GRAND  Cape-Mount ' -> 'grandcapemount', 'Lofa County'
    -> 'lofa', 'Rivière-Saint-Jean' -> 'rivierestjean'."""
    text = unicodedata.normalize("NFKD", str(name).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    for pattern, word in SAME_WORDS:
        text = pattern.sub(word, text)
    bare = KIND_WORDS.sub(" ", text)
    if re.sub(r"[\W_]+", "", bare):  # 'Central Region' -> 'central'; 'Region' stays
        text = bare
    return re.sub(r"[\W_]+", "", text)


def _spellings(
    own: pd.Series, polygons: pd.Series, codes: pd.Series | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(folded name -> how it is shown, own name -> the polygon's name it was read as).

    Shown: the polygons' spelling, else the commonest one. A polygon's code (a p-code
    such as 'LR03') is read as its name. A name no polygon has, but one polygon's name is
    very like, is read as that polygon's (a spelling variant: 'ELGEYO/MARAKWET' and
    'ELEGEYO-MARAKWET')."""
    spelled: dict[str, str] = {}
    for name, _ in own.value_counts(sort=True).items():  # commonest first
        spelled.setdefault(fold(name), str(name))
    named = {fold(name): str(name) for name in polygons.dropna()}
    named.pop("", None)
    if codes is not None:
        coded = {
            fold(code): str(name)
            for code, name in zip(codes, polygons, strict=True)
            if isinstance(code, str) and isinstance(name, str) and fold(code)
        }
        named = {**coded, **named}  # a name that is also a code stays the name
    read_as: dict[str, str] = {}
    for key, shown in list(spelled.items()):
        if key in named or not key:
            continue
        close = difflib.get_close_matches(key, list(named), n=2, cutoff=SIMILAR)
        if len(close) == 1 or (
            len(close) == 2
            and difflib.SequenceMatcher(None, key, close[0]).ratio()
            > difflib.SequenceMatcher(None, key, close[1]).ratio()
        ):
            named[key] = named[close[0]]
            read_as[shown] = named[close[0]]
    spelled.update(named)
    return spelled, read_as


def _polygons(areas: gpd.GeoDataFrame) -> tuple[shapely.STRtree, np.ndarray]:
    """The area polygons' search tree and their names, built once per areas frame: a feed
    that grew by a few rows asks about those rows alone."""

    def build() -> tuple[shapely.STRtree, np.ndarray]:
        named = areas[located(areas.geometry)]
        return shapely.STRtree(named.geometry.to_numpy()), named["name"].to_numpy(dtype=object)

    return growth.kept(areas, "area polygons", build)


def containing(frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """The name of the area polygon each located row lies in (NA elsewhere; the first
    polygon, in the areas' order, where polygons overlap)."""
    found = np.full(len(frame), None, dtype=object)
    if len(frame) and len(areas) and "name" in areas:
        tree, names = _polygons(areas)
        rows = np.flatnonzero(located(frame.geometry))
        geoms = frame.geometry.to_numpy()[rows]
        # Rows that share one geometry object (events drawn at their station) are asked
        # about once: 700,000 delivery events lie at 180,000 stations.
        same, distinct = pd.factorize(np.fromiter(map(id, geoms), np.int64, len(geoms)))
        point, polygon = tree.query(geoms[_first_of(same, len(distinct))], predicate="within")
        order = np.lexsort((polygon, point))  # per point, the first polygon
        point, polygon = point[order], polygon[order]
        first = np.r_[True, point[1:] != point[:-1]] if len(point) else np.zeros(0, bool)
        name_of = np.full(len(distinct), None, dtype=object)
        name_of[point[first]] = names[polygon[first]]
        found[rows] = name_of[same]
    return pd.Series(found, index=frame.index, dtype=object)


def _first_of(codes: np.ndarray, count: int) -> np.ndarray:
    """The first position of each of ``count`` codes in ``codes``."""
    first = np.full(count, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return first


def _folded(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(each row's value, each row's folded key) as arrays; None where the value is missing
    or folds to nothing. Folded once per distinct value, not per row."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [u if isinstance(u, str) else str(u) for u in uniques]
    keys = np.array([fold(t) or None for t in texts] + [None], dtype=object)
    shown = np.array([*texts, None], dtype=object)
    row_keys = keys[codes]  # code -1 takes the last entry: None
    row_shown = shown[codes]
    row_shown[pd.isna(row_keys)] = None
    return row_shown, row_keys


def assign(
    frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, feed: str, file: str | None = None
) -> tuple[pd.Series, list[Problem]]:
    """Each row's area by the rule above, and a warning per row whose own area and the
    polygon it lies in disagree (rows numbered by ``source_row``)."""
    own_values = frame[OWN] if OWN in frame else pd.Series(None, index=frame.index, dtype=object)
    own, own_key = _folded(own_values)
    inside, inside_key = _folded(containing(frame, areas))
    has_own = own_key != None  # noqa: E711 - elementwise over an object array
    spelled, read_as = _spellings(
        pd.Series(own[has_own], dtype=object),
        areas["name"] if "name" in areas else pd.Series(),
        areas["code"] if "code" in areas and "name" in areas else None,
    )
    named = np.array([spelled.get(k) if k is not None else None for k in own_key], dtype=object)
    area = np.where(has_own, named, inside)
    named_key = _folded(pd.Series(named, dtype=object))[1]
    differ = np.flatnonzero(has_own & (inside_key != None) & (named_key != inside_key))  # noqa: E711
    rows = frame["source_row"].to_numpy() if "source_row" in frame else np.arange(1, len(frame) + 1)
    problems = [
        Problem(
            feed,
            file,
            None,
            OWN,
            f"{own_name!r} in {feed} read as {polygon!r} of areas (the same name spelled "
            "otherwise).",
            "If they are different areas, correct the name in one of the two feeds.",
            Level.NOTICE,
            "area_spelling",
        )
        for own_name, polygon in sorted(read_as.items())
    ]
    problems += [
        Problem(
            feed,
            file,
            int(rows[i]),
            OWN,
            f"the row's area is {own[i]!r} but its location lies in the area "
            f"{inside[i]!r}; it is counted under {named[i]!r}.",
            "Check the row's coordinates; if they are right, correct its admin1.",
            Level.WARNING,
            "area_mismatch",
        )
        for i in differ
    ]
    out = pd.Series(area, index=frame.index, dtype=object)
    return out.where(out.notna(), NO_AREA), problems


def sub_areas(frame: pd.DataFrame, area: pd.Series) -> pd.Series:
    """Each row's second-level area within its ``area``: 'Bong / Jorquelleh' from its own
    ``admin2``, spelled as most rows of that area spell it (compared as :func:`fold`
    does); None without one. Named with its area, as two areas may have a district of the
    same name."""
    if OWN_SUB not in frame or not len(frame):
        return pd.Series(None, index=frame.index, dtype=object)
    shown, keys = _folded(frame[OWN_SUB])
    parents = area.astype(object).to_numpy()
    pairs = pd.DataFrame({"parent": parents, "key": keys, "shown": shown})
    named = pairs.dropna(subset=["key"])
    if not len(named):
        return pd.Series(None, index=frame.index, dtype=object)
    spelled = (
        named.groupby(["parent", "key"], sort=False)["shown"]
        .agg(lambda s: s.value_counts().index[0])
        .to_dict()
    )
    out = [
        f"{parent}{SUB}{spelled[(parent, key)]}" if key is not None else None
        for parent, key in zip(parents, keys, strict=True)
    ]
    return pd.Series(out, index=frame.index, dtype=object)


def parent_of(sub_area: str) -> str:
    """The area a sub-area (:func:`sub_areas`) lies in."""
    return sub_area.split(SUB, 1)[0]
