"""Writing the demo town to the files described in data/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio

from .model import DemoTown

GEOMETRY_TYPES = {
    "towns": "MultiPolygon",
    "villages": "MultiPolygon",
    "grids": "MultiPolygon",
    "stations": "MultiPolygon",
    "beats": "MultiPolygon",
    "compounds": "MultiPolygon",
    "roads": "LineString",
}


def write(town: DemoTown, out_dir: Path) -> list[Path]:
    """Write every layer as GeoJSON, the people as CSV and the findings as JSON.

    Files are overwritten; the same town always gives byte-identical files (coordinates are
    written with 7 decimals, the findings with sorted keys).

    Parameters
    ----------
    town : DemoTown
    out_dir : pathlib.Path
        Created if missing.

    Returns
    -------
    list of pathlib.Path
        The files written, in a fixed order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, gdf in town.layers().items():
        path = out_dir / f"{name}.geojson"
        path.unlink(missing_ok=True)
        pyogrio.write_dataframe(
            gdf,
            path,
            driver="GeoJSON",
            geometry_type=GEOMETRY_TYPES.get(name, "Point"),
            COORDINATE_PRECISION=7,
            WRITE_BBOX="NO",
        )
        written.append(path)
    path = out_dir / "people.csv"
    town.people.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    written.append(path)
    path = out_dir / "expected_findings.json"
    text = json.dumps(town.expected_findings, ensure_ascii=False, indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")
    written.append(path)
    return written
