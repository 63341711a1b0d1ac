"""The browser libraries the map pages use, served by gridsvc itself.

A police intranet has no internet, so no page may load a script, stylesheet, image or font from
a CDN. The libraries are fetched **once, at install time**, from the npm registry (a package
registry, pinned by version and checked against the registry's sha512 integrity), or copied from
a Python package that ships them (folium's Leaflet.heat), into ``gridsvc/maps/static/``.
``scripts/setup.sh`` runs ``python -m gridsvc.maps.vendor`` when that folder is incomplete.

Only the files the pages use are kept: Leaflet (with its control images), Leaflet.markercluster,
Leaflet.heat, Leaflet.VectorGrid, and Swagger UI for the OpenAPI page. Folium's own defaults
(jQuery, Bootstrap, Font Awesome, awesome-markers) are not used by any page and are dropped,
which also keeps the pages light.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class NpmPackage:
    """A pinned npm tarball and the files taken from it (``package/`` prefix stripped)."""

    name: str
    version: str
    integrity: str
    files: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


PACKAGES = (
    NpmPackage(
        "leaflet", "1.9.4",
        "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        ("dist/leaflet.js", "dist/leaflet.css", "dist/images/layers.png",
         "dist/images/layers-2x.png", "dist/images/marker-icon.png",
         "dist/images/marker-icon-2x.png", "dist/images/marker-shadow.png"),
    ),
    NpmPackage(
        "leaflet.markercluster", "1.5.3",
        "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==",
        ("dist/leaflet.markercluster.js", "dist/MarkerCluster.css",
         "dist/MarkerCluster.Default.css"),
    ),
    # Cell layers of a city as vector tiles (/maps/tiles/...), drawn on canvas.
    NpmPackage(
        "leaflet.vectorgrid", "1.3.0",
        "sha512-kWmj1pKM+MVdo/7Mg5zsB3YrGZvo/uIuiANV9MvWUFOG+Y2xAJzrteDhoIcCgTjHSSRJ36xdeGdIQVhuWjnCZw==",
        ("dist/Leaflet.VectorGrid.bundled.min.js",),
    ),
    # The OpenAPI page (/docs): FastAPI's default loads Swagger UI from a CDN.
    NpmPackage(
        "swagger-ui-dist", "5.17.14",
        "sha512-CVbSfaLpstV65OnSjbXfVd6Sta3q3F7Cj/yYuvHMp1P90LztOLs6PfUnKEVAeiIVQt9u2SaPwv0LiH/OyMjHRw==",
        ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"),
    ),
)
#: Files shipped inside Python packages: (package, path inside it, name under STATIC_DIR).
FROM_PYTHON = (("folium", "templates/leaflet_heat.min.js", "leaflet.heat/leaflet-heat.js"),)

#: Scripts and stylesheets of each page feature, as paths under STATIC_DIR (load order kept).
SCRIPTS = {
    "leaflet": ["leaflet/dist/leaflet.js"],
    "cluster": ["leaflet.markercluster/dist/leaflet.markercluster.js"],
    "heat": ["leaflet.heat/leaflet-heat.js"],
    "tiles": ["leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"],
}
STYLES = {
    "leaflet": ["leaflet/dist/leaflet.css"],
    "cluster": ["leaflet.markercluster/dist/MarkerCluster.css",
                "leaflet.markercluster/dist/MarkerCluster.Default.css"],
    "heat": [],
    "tiles": [],
}


def expected_files() -> list[Path]:
    """Every file :func:`fetch` writes, under :data:`STATIC_DIR`."""
    files = [STATIC_DIR / p.name / f for p in PACKAGES for f in p.files]
    return files + [STATIC_DIR / name for _, _, name in FROM_PYTHON]


def missing_files() -> list[Path]:
    """The expected files not there yet (empty when the pages can be served)."""
    return [f for f in expected_files() if not f.is_file()]


def _check_integrity(data: bytes, integrity: str, what: str) -> None:
    algo, _, digest = integrity.partition("-")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if got != digest:
        raise RuntimeError(f"{what}: {algo} {got} does not match the pinned {digest}")


def _extract(package: NpmPackage, data: bytes) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name in package.files:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise RuntimeError(f"{package.name}@{package.version} has no {name}")
            target = STATIC_DIR / package.name / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())


def fetch(timeout: float = 60.0) -> list[Path]:
    """Download and check the pinned packages and copy the Python-shipped files.

    Returns the files written. Raises RuntimeError when a download does not match its pinned
    integrity (nothing of that package is written), and the urllib error when the registry
    cannot be reached.
    """
    for package in PACKAGES:
        if all((STATIC_DIR / package.name / f).is_file() for f in package.files):
            continue
        with urllib.request.urlopen(package.url, timeout=timeout) as response:
            data = response.read()
        _check_integrity(data, package.integrity, f"{package.name}@{package.version}")
        _extract(package, data)
    for module, inner, name in FROM_PYTHON:
        source = Path(importlib.import_module(module).__file__).parent / inner
        target = STATIC_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return expected_files()


if __name__ == "__main__":
    written = fetch()
    sys.stderr.write(f"map assets ready: {len(written)} files in {STATIC_DIR}\n")
