"""What went wrong while reading a feed, as data a page can show."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Level(str, Enum):
    """How much a problem costs the user."""

    ERROR = "error"  # the feed, or this row's location, could not be used
    WARNING = "warning"  # the row is kept but a value was replaced or is doubtful
    NOTICE = "notice"  # nothing lost; the user may want to know (e.g. a column mapping)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one feed: where it is, what it is and what to do about it.

    ``row`` is the number a person finds the record by: the line in a CSV file as a
    spreadsheet counts it (header = 1), or the feature's position in a GeoJSON file
    (first feature = 1). ``None`` means the whole feed or column.
    """

    feed: str
    file: str | None
    row: int | None
    column: str | None
    message: str
    fix: str
    level: Level = Level.ERROR
    kind: str = "other"  # a stable code for counting and tests, e.g. "null_island"

    @property
    def where(self) -> str:
        """'incidents.csv, row 312, column latitude' style location."""
        parts = [self.file or self.feed]
        if self.row is not None:
            unit = "feature" if (self.file or "").endswith((".geojson", ".json")) else "row"
            parts.append(f"{unit} {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where}: {self.message} {self.fix}".strip()

    def as_dict(self) -> dict[str, object]:
        """Plain record for a table or an export."""
        return {
            "feed": self.feed,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "level": self.level.value,
            "kind": self.kind,
            "message": self.message,
            "fix": self.fix,
        }
