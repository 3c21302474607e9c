"""The exercise's made-up geography: Liberia's counties as regions in a traced outline, or a
national-scale country of many provinces; place names and incident types to draw from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon


@dataclass(frozen=True)
class Region:
    name: str
    code: str
    capital: str
    lon: float
    lat: float
    weight: float  # relative population


@dataclass(frozen=True)
class Geography:
    name: str
    outline: Polygon
    regions: tuple[Region, ...]
    # A real country's outline, traced by hand: cut to the land of the offline basemap so
    # that no station or base of the exercise lies in the sea on the map.
    on_land: bool = False


# Coarse outline of Liberia (lon, lat), traced by hand from public maps.
LIBERIA_OUTLINE = Polygon(
    [
        (-11.49, 6.92),
        (-11.08, 7.40),
        (-10.70, 7.75),
        (-10.60, 8.05),
        (-10.28, 8.49),
        (-9.90, 8.50),
        (-9.65, 8.52),
        (-9.45, 8.25),
        (-9.40, 7.90),
        (-9.10, 7.55),
        (-8.80, 7.60),
        (-8.48, 7.58),
        (-8.30, 7.10),
        (-8.40, 6.60),
        (-8.10, 6.30),
        (-7.90, 5.85),
        (-7.55, 5.50),
        (-7.40, 5.10),
        (-7.53, 4.36),
        (-7.72, 4.37),
        (-8.23, 4.60),
        (-9.04, 4.98),
        (-9.58, 5.42),
        (-10.05, 5.82),
        (-10.80, 6.28),
        (-11.37, 6.72),
    ]
)


# County, ISO 3166-2 code, capital, capital lon/lat, 2008 census population (thousands).
LIBERIA = Geography(
    "Liberia",
    LIBERIA_OUTLINE,
    tuple(
        Region(*r)
        for r in (
            ("Bomi", "LR-BM", "Tubmanburg", -10.817, 6.871, 84),
            ("Bong", "LR-BG", "Gbarnga", -9.472, 6.996, 333),
            ("Gbarpolu", "LR-GP", "Bopolu", -10.488, 7.067, 83),
            ("Grand Bassa", "LR-GB", "Buchanan", -10.047, 5.881, 221),
            ("Grand Cape Mount", "LR-CM", "Robertsport", -11.369, 6.753, 127),
            ("Grand Gedeh", "LR-GG", "Zwedru", -8.128, 6.067, 125),
            ("Grand Kru", "LR-GK", "Barclayville", -8.234, 4.680, 57),
            ("Lofa", "LR-LO", "Voinjama", -9.748, 8.422, 276),
            ("Margibi", "LR-MG", "Kakata", -10.353, 6.530, 209),
            ("Maryland", "LR-MY", "Harper", -7.717, 4.400, 135),
            ("Montserrado", "LR-MO", "Monrovia", -10.797, 6.315, 1118),
            ("Nimba", "LR-NI", "Sanniquellie", -8.711, 7.362, 462),
            ("River Cess", "LR-RI", "Cestos City", -9.583, 5.467, 71),
            ("River Gee", "LR-RG", "Fish Town", -7.876, 5.197, 67),
            ("Sinoe", "LR-SI", "Greenville", -9.039, 5.011, 102),
        )
    ),
    on_land=True,
)


SCALES = {
    "sample": {"stations": 4_500, "bases": 60, "routes": 12, "incidents": 600},
    "national": {"stations": 180_000, "bases": 3_000, "routes": 500, "incidents": 50_000},
}


PLACES = (
    "Public School",
    "Community Hall",
    "Town Hall",
    "Market Hall",
    "Church Hall",
    "Mosque Compound",
    "Youth Centre",
    "Health Post Yard",
    "Primary School",
    "Palava Hut",
)


INCIDENT_TYPES = (  # type, share, typical severities
    ("Intimidation of voters", 0.22, (0.55, 0.35, 0.10, 0.00)),
    ("Protest", 0.20, (0.60, 0.30, 0.10, 0.00)),
    ("Riot", 0.10, (0.15, 0.45, 0.35, 0.05)),
    ("Armed attack", 0.06, (0.00, 0.25, 0.50, 0.25)),
    ("Violence against civilians", 0.10, (0.05, 0.40, 0.40, 0.15)),
    ("Electoral malpractice", 0.14, (0.50, 0.40, 0.10, 0.00)),
    ("Destruction of electoral material", 0.08, (0.20, 0.50, 0.25, 0.05)),
    ("Road blockade", 0.10, (0.40, 0.45, 0.15, 0.00)),
)


def national_geography(rng: np.random.Generator) -> Geography:
    """A DR Congo-sized country (2.3 million km2, 19 degrees of longitude) with 26 provinces."""
    outline = Polygon(
        [
            (12.2, -6.0),
            (16.0, -5.0),
            (18.0, 5.3),
            (27.0, 5.4),
            (31.3, 2.0),
            (29.5, -8.0),
            (30.5, -13.5),
            (22.0, -12.0),
            (16.0, -8.0),
        ]
    )
    regions: list[Region] = []
    minx, miny, maxx, maxy = outline.bounds
    while len(regions) < 26:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if outline.contains(shapely.Point(lon, lat)):
            i = len(regions) + 1
            regions.append(
                Region(
                    f"Province {i:02d}",
                    f"P{i:02d}",
                    f"Capital {i:02d}",
                    lon,
                    lat,
                    float(rng.lognormal(5.5, 0.6)),
                )
            )
    return Geography("Synthetic national-scale country", outline, tuple(regions))
