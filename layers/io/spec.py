"""What a feed declares: its fields, their kinds, names and allowed values, its geometry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import pandas as pd

Kind = Literal["text", "int", "float", "time", "choice", "bool"]
WKT_NAMES = ("wkt", "geom_wkt", "geometry", "the_geom", "geom")
UNKNOWN = "unknown"
POINT_TYPES = ("Point",)
AREA_TYPES = ("Polygon", "MultiPolygon")
LINE_TYPES = ("LineString", "MultiLineString")


@dataclass(frozen=True)
class Field:
    """One column of a feed, as the layer understands it."""

    name: str
    kind: Kind = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    synonyms: Mapping[str, str] = field(default_factory=dict)  # value spelled otherwise -> choice
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class FeedSpec:
    """A feed's contract: its name (the file stem), geometry types and fields. No geometry
    types: its rows carry no location of their own (a layer's ``derive`` may give them
    one from another feed)."""

    name: str
    title: str
    geometry: tuple[str, ...]
    fields: tuple[Field, ...]
    id_field: str | None = "id"
    optional: bool = False
    doc: str = ""
    # A feed that only grows (incidents, position pings): a version with fewer rows than
    # the shown one, or with rows already shown changed, is held back (see FeedStore).
    grows: bool = False
    # Its points may come as the timed points of GPS tracks (GPX track points, KML
    # gx:Track): a file with tracks gives those, not its waypoints.
    tracks: bool = False

    def field(self, name: str) -> Field:
        """The declared field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(
            f"{self.name} has no field {name!r}; it has {', '.join(f.name for f in self.fields)}"
        )

    @property
    def columns(self) -> list[str]:
        """Columns every loaded frame of this feed has, geometry last."""
        return ["source_row", *(f.name for f in self.fields), "geometry"]


@dataclass(frozen=True)
class ReadContext:
    """How to read times: the zone for naive times and a shift (for replayed exercises)."""

    timezone: str = "UTC"
    time_shift: pd.Timedelta = pd.Timedelta(0)


_EMPTY: dict[int, tuple[FeedSpec, gpd.GeoDataFrame]] = {}


def empty_frame(spec: FeedSpec) -> gpd.GeoDataFrame:
    """A frame with the spec's columns and no rows (a copy of one made once per spec:
    building it takes twenty times longer, and a replay asks for several at each look)."""
    made = _EMPTY.get(id(spec))
    if made is None or made[0] is not spec:
        data: dict[str, pd.Series] = {"source_row": pd.Series([], dtype="int64")}
        for f in spec.fields:
            data[f.name] = pd.Series([], dtype=_dtype(f))
        frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
        made = _EMPTY[id(spec)] = (spec, frame)
    return made[1].copy()


def _dtype(f: Field) -> str:
    return {
        "int": "Int64",
        "float": "float64",
        "time": "datetime64[ns, UTC]",
        "bool": "boolean",
    }.get(f.kind, "object")
