"""``gridsvc map``: self-contained pages written to files, as a user runs it."""

from __future__ import annotations

import re

from tests.conftest import run_cli


def test_written_page_carries_its_libraries_inline(pg, engine, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    out = tmp_path / "coverage.html"
    done = run_cli("map", "coverage", "-o", str(out), env=env, check=True)
    assert "no external requests" in done.stdout
    page = out.read_text(encoding="utf-8")
    # Nothing to fetch at all: no script or stylesheet by URL, Leaflet's images as data URIs.
    assert not re.search(r'<script src=|<link rel="stylesheet" href=', page)
    assert "L.map(" in page and 't.version="1.9.4"' in page  # Leaflet itself is inline
    assert "data:image/png;base64," in page


def test_every_page_kind_and_bad_input(pg, engine, tmp_path):
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    for kind in ("risk", "incidents"):
        run_cli("map", kind, "--since", "2026-08-02", "--until", "2026-10-31",
                "-o", str(tmp_path / f"{kind}.html"), env=env, check=True)
    bad = run_cli("map", "incidents", "--category", "nope", "-o", str(tmp_path / "x.html"),
                  env=env)
    assert bad.returncode == 2 and "unknown category 'nope'" in bad.stderr
    suffix = run_cli("map", "coverage", "-o", str(tmp_path / "x.png"), env=env)
    assert suffix.returncode == 2 and ".png" in suffix.stderr
    missing = run_cli("map", "plan", "999999", "-o", str(tmp_path / "p.html"), env=env)
    assert missing.returncode != 0 and "no plan with id 999999" in missing.stderr
