"""``gridsvc layers import --crs gcj02``: boundaries in the offset of Chinese web maps land where
the WGS84 truth is (real process, real PostGIS)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon
from sqlalchemy import create_engine, text

from gridsvc.domain.geo.coords import wgs84_to_gcj02
from tests.conftest import run_cli

# Two districts of Hangzhou-like size sharing a bent boundary, in WGS84 (the truth).
TRUTH = {
    "330102": Polygon([(120.10, 30.24), (120.15, 30.24), (120.16, 30.27), (120.14, 30.30),
                       (120.10, 30.29)]),
    "330103": Polygon([(120.15, 30.24), (120.20, 30.245), (120.205, 30.29), (120.14, 30.30),
                       (120.16, 30.27)]),
}
TO_METRES = Transformer.from_crs(4326, 32651, always_xy=True)  # UTM 51N


def _gcj02_geojson(path: Path) -> Path:
    """The districts as a DataV GeoAtlas file is: GCJ-02 numbers, no ``crs`` member."""
    features = []
    for adcode, poly in TRUTH.items():
        x, y = wgs84_to_gcj02(*shapely.get_coordinates(poly).T)
        ring = [[float(a), float(b)] for a, b in zip(x, y, strict=True)]
        features.append({"type": "Feature", "properties": {"adcode": adcode},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _inner_points(n: int = 100, seed: int = 0) -> list[tuple[str, float, float]]:
    """Per district, ``n`` random WGS84 points 50-400 m inside its boundary."""
    rng = np.random.default_rng(seed)
    out = []
    for adcode, poly in TRUTH.items():
        metric = shapely.transform(poly, lambda xy: np.column_stack(
            TO_METRES.transform(xy[:, 0], xy[:, 1])))
        x0, y0, x1, y1 = poly.bounds
        found = 0
        while found < n:
            lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
            p = shapely.Point(*TO_METRES.transform(lon, lat))
            if metric.contains(p) and 50 <= metric.exterior.distance(p) <= 400:
                out.append((adcode, lon, lat))
                found += 1
    return out


def _share_in_own_district(url: str, points: list[tuple[str, float, float]]) -> float:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            right = sum(conn.execute(text(
                "SELECT count(*) FROM area WHERE kind = 'town' AND business_id = :id "
                "AND ST_Covers(geom, ST_SetSRID(ST_Point(:lon, :lat), 4490))"),
                {"id": adcode, "lon": lon, "lat": lat}).scalar_one() for adcode, lon, lat in points)
    finally:
        eng.dispose()
    return right / len(points)


def test_gcj02_layer_lands_where_the_wgs84_truth_is(tmp_path, scratch_engine, scratch_url):
    env = {"GRIDSVC_DATABASE_URL": scratch_url}
    path = _gcj02_geojson(tmp_path / "citys_330100.json")
    points = _inner_points()
    args = ("layers", "import", str(path), "--kind", "town", "--id-field", "adcode")

    done = run_cli(*args, "--crs", "gcj02", env=env, check=True)
    assert "imported 2 town cells" in done.stdout
    assert _share_in_own_district(scratch_url, points) == 1.0

    # The control: read as WGS84 (what GDAL says of any plain GeoJSON) the districts sit
    # about 500 m off, and many of the same points fall outside their district.
    run_cli(*args, "--replace", env=env, check=True)
    assert _share_in_own_district(scratch_url, points) < 0.9


def test_unknown_crs_lists_the_accepted_forms(tmp_path, scratch_engine, scratch_url):
    path = _gcj02_geojson(tmp_path / "citys_330100.json")
    done = run_cli("layers", "import", str(path), "--kind", "town", "--id-field", "adcode",
                   "--crs", "mars", env={"GRIDSVC_DATABASE_URL": scratch_url})
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())  # rich may wrap the line
    assert "unknown CRS 'mars'" in message
    for form in ("EPSG code", "4326", "gcj02", "gaode", "bd09", "baidu"):
        assert form in message
