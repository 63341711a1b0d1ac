"""Printed products over HTTP and the CLI: bulletins (numbers recomputed from the incidents),
contact cards (QR decoded back to the officer's vCard), read by their text and as pictures."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pypdfium2
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import text

from gridsvc.api.app import create_app
from gridsvc.domain.accounts import Role
from gridsvc.services.tokens import create_token
from tests.conftest import ARTIFACTS, run_cli

TZ = ZoneInfo("Asia/Shanghai")
WEEK, MONDAY = "2026-W44", date(2026, 10, 26)


def _text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _png(pdf: bytes, name: str, scale: float = 1.5) -> np.ndarray:
    """Page 1 rendered by PDFium, saved under test-artifacts/, as an RGB array."""
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=scale).to_pil().convert("RGB")
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / name)
    return np.asarray(image)


def _counts(engine, beat: str, start: date, days: int) -> dict[str, int]:
    """Incidents of a beat per category in ``days`` local days from ``start`` (the test's own
    count, straight from the incident table)."""
    lo = datetime(start.year, start.month, start.day, tzinfo=TZ)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT category, count(*) FROM incident WHERE beat_id = :b AND occurred_at >= :lo "
            "AND occurred_at < :hi GROUP BY 1"),
            {"b": beat, "lo": lo, "hi": lo + timedelta(days=days)}).all()
    return dict(rows)


@pytest.fixture
def writer(settings, demo_copy):
    """A client on a private demo copy, and headers for each role there."""
    tokens = {r: create_token(demo_copy, role=Role.parse(r), name=f"t-{r}", actor="test")
              for r in ("viewer", "handler", "admin")}
    with TestClient(create_app(settings, demo_copy)) as c:
        yield c, lambda role="viewer": {"Authorization": f"Bearer {tokens[role]}"}


def test_bulletin_pdf_counts_are_the_incidents_of_the_week_and_it_renders(client, auth, engine):
    r = client.get(f"/api/v1/bulletins/beat/B01?week={WEEK}", headers=auth())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    page = _text(r.content)
    week = _counts(engine, "B01", MONDAY, 7)
    before = [sum(_counts(engine, "B01", MONDAY - timedelta(days=7 * k), 7).values())
              for k in range(1, 5)]
    total, mean = sum(week.values()), sum(before) / 4
    assert total > 0
    assert "八都派出所第一警务区警情公告" in page
    assert "2026年第44周（10月26日—11月1日）" in page
    assert f"本周共接报警情 {total} 起" in page and f"（{mean:.1f}起）" in page
    # The table's cells come out one a line: category, this week, mean before, change.
    lines = [line.strip() for line in page.splitlines()]
    for category, n in week.items():
        row = lines.index(category)
        assert lines[row + 1] == str(n), (category, n, lines[row:row + 4])
    with engine.connect() as conn:
        solved, ever = conn.execute(text(
            "SELECT count(*) FILTER (WHERE s.solved_on BETWEEN :m AND :m + 6), count(*) "
            "FROM incident_solved s JOIN incident i ON i.business_id = s.incident_id "
            "WHERE i.beat_id = 'B01'"), {"m": MONDAY}).one()
    assert (f"本周破获案件 {solved} 起" if ever else "未记录") in page
    leading = max(week, key=lambda c: (week[c], -ord(c[0])))
    assert f"{leading}：" in page  # the leading category's advice
    assert "0578-7990101" in page and "08:30-17:30" in page
    # Never a house number or a person: no officer's or grid worker's name is printed.
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM person")).scalars().all()
    assert not [n for n in names if n in page]
    # The CJK font is embedded (a subset, FontFile2), not referenced.
    fonts = PdfReader(io.BytesIO(r.content)).pages[0]["/Resources"]["/Font"]
    descendant = [f.get_object() for f in fonts.values()]
    assert any("/FontFile2" in d["/FontDescriptor"] for d in descendant
               if "/FontDescriptor" in d)
    pixels = _png(r.content, "bulletin-B01.png")
    dark = (pixels.sum(axis=2) < 600).mean()
    assert dark > 0.01, "the rendered page is blank"
    red = ((pixels[..., 0] > 150) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)).sum()
    assert red > 200, "the red title and the map's leading village are missing"


def test_bulletin_html_office_and_station(client, auth):
    r = client.get(f"/api/v1/bulletins/office/O01?week={WEEK}&format=html", headers=auth())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "<svg" in r.text and "八都集镇警务室警情公告" in r.text
    s = client.get(f"/api/v1/bulletins/station/S01?week={WEEK}&previous_weeks=2",
                   headers=auth())
    assert s.status_code == 200 and "前2周平均" in _text(s.content)


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/bulletins/beat/B01?week=2026-W60", 422),
    ("/api/v1/bulletins/beat/B01?week=26W4", 422),
    ("/api/v1/bulletins/beat/NOPE?week=2026-W44", 404),
    ("/api/v1/bulletins/office/NOPE?week=2026-W44", 404),
    ("/api/v1/bulletins/grid/G1?week=2026-W44", 422),
    ("/api/v1/contact-cards/NOPE", 404),
    ("/api/v1/assessments/beat?period=2026-13", 422),
])
def test_print_errors_have_the_one_shape(client, auth, path, status):
    r = client.get(path, headers=auth("dispatcher"))
    assert r.status_code == status, r.text
    assert set(r.json()) == {"detail", "problems"}


def test_solved_cases_and_edited_advice_show_on_the_next_bulletin(writer, demo_copy):
    client, auth = writer
    with demo_copy.connect() as conn:
        incident = conn.execute(text(
            "SELECT business_id FROM incident WHERE beat_id = 'B01' AND category = '盗窃' "
            "AND occurred_at >= '2026-10-26T00:00+08' AND occurred_at < '2026-11-02T00:00+08' "
            "AND business_id NOT IN (SELECT incident_id FROM incident_solved) "
            "LIMIT 1")).scalar_one()
        before = conn.execute(text(
            "SELECT count(*) FROM incident_solved s JOIN incident i "
            "ON i.business_id = s.incident_id WHERE i.beat_id = 'B01' "
            "AND s.solved_on BETWEEN '2026-10-26' AND '2026-11-01'")).scalar_one()
    body = {"advice": "夜间关好门窗，贵重物品妥善保管。"}
    assert client.put("/api/v1/bulletin-advice/盗窃", json=body,
                      headers=auth("viewer")).status_code == 403
    assert client.put("/api/v1/bulletin-advice/盗窃", json=body,
                      headers=auth("admin")).status_code == 200
    r = client.put(f"/api/v1/incidents/{incident}/solved", json={"solved_on": "2026-10-30"},
                   headers=auth("handler"))
    assert r.status_code == 200, r.text
    page = _text(client.get(f"/api/v1/bulletins/beat/B01?week={WEEK}",
                            headers=auth()).content)
    assert f"本周破获案件 {before + 1} 起" in page
    assert "夜间关好门窗" in page.replace("\n", "")
    assert client.put("/api/v1/incidents/INC-NOPE/solved", json={"solved_on": "2026-10-30"},
                      headers=auth("handler")).status_code == 404
    listed = client.get("/api/v1/bulletin-advice", headers=auth()).json()
    assert {"category": "盗窃", "advice": body["advice"]}.items() <= \
        next(a for a in listed if a["category"] == "盗窃").items()
    assert client.delete("/api/v1/bulletin-advice/盗窃", headers=auth("admin")).status_code == 204
    assert client.delete("/api/v1/bulletin-advice/盗窃", headers=auth("admin")).status_code == 404
    with demo_copy.connect() as conn:
        actions = conn.execute(text(
            "SELECT action FROM audit_log WHERE action IN "
            "('advice.set', 'advice.delete', 'incident.solved')")).scalars().all()
    assert sorted(actions) == ["advice.delete", "advice.set", "incident.solved"]


def test_contact_cards_qr_is_the_officers_vcard_and_the_page_has_cut_marks(client, auth, engine):
    assert client.get("/api/v1/contact-cards/V102208", headers=auth()).status_code == 403
    r = client.get("/api/v1/contact-cards/V102208", headers=auth("handler"))
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        houses = conn.execute(text(
            "SELECT count(*) FROM house WHERE village_id = 'V102208'")).scalar_one()
        beat = conn.execute(text(
            "SELECT beat_id FROM house WHERE village_id = 'V102208' ORDER BY number, "
            "sub_number NULLS FIRST, business_id LIMIT 1")).scalar_one()
        name, phone = conn.execute(text(
            "SELECT p.name, p.phone FROM person p JOIN person_area pa ON pa.person_pk = p.pk "
            "WHERE pa.kind = 'beat' AND pa.area_id = :b AND p.role = 'officer' "
            "ORDER BY p.business_id LIMIT 1"), {"b": beat}).one()
    pdf = PdfReader(io.BytesIO(r.content))
    assert len(pdf.pages) == (houses + 7) // 8
    first = pdf.pages[0].extract_text()
    assert first.count("警民联系卡") >= 8 and "岱根村1号" in first
    assert name in first and phone in first and "紧急情况请拨打 110" in first
    pixels = _png(r.content, "cards-V102208.png", scale=3)
    assert (pixels.sum(axis=2) < 600).mean() > 0.02
    found = zxingcpp.read_barcodes(pixels)
    assert len(found) == 8
    vcard = found[0].text
    assert vcard.startswith("BEGIN:VCARD") and f"TEL:{phone}" in vcard and f"FN:{name}" in vcard
    # Crop marks: the left margin has short dark lines at the card edges, nothing else.
    margin = pixels[:, : int(pixels.shape[1] * 0.08)]
    assert 4 <= ((margin.sum(axis=2) < 300).any(axis=1)).sum() <= 5 * 3 * 4


def test_cards_follow_a_new_officer_at_once(writer, demo_copy):
    client, auth = writer
    with demo_copy.begin() as conn:
        beat = conn.execute(text("SELECT beat_id FROM house WHERE village_id = 'V102208' "
                                 "ORDER BY number LIMIT 1")).scalar_one()
        conn.execute(text(
            "UPDATE person SET phone = '13912345678' WHERE pk = (SELECT p.pk FROM person p "
            "JOIN person_area pa ON pa.person_pk = p.pk WHERE pa.kind = 'beat' "
            "AND pa.area_id = :b AND p.role = 'officer' ORDER BY p.business_id LIMIT 1)"),
            {"b": beat})
    r = client.get("/api/v1/contact-cards/V102208", headers=auth("handler"))
    assert "13912345678" in _text(r.content)


def test_cli_bulletin_and_cards(pg, engine, tmp_path):  # engine: the demo is loaded
    env = {"GRIDSVC_DATA_DIR": str(pg.data_dir)}
    out = tmp_path / "b.html"
    done = run_cli("report", "bulletin", "--beat", "B01", "--week", WEEK, "-o", str(out),
                   env=env, check=True)
    assert "incident(s)" in done.stdout and "<svg" in out.read_text(encoding="utf-8")
    cards = tmp_path / "c.pdf"
    done = run_cli("report", "cards", "--village", "V102208", "-o", str(cards), env=env,
                   check=True)
    assert cards.read_bytes().startswith(b"%PDF") and "card(s)" in done.stdout
    table = tmp_path / "a.csv"
    done = run_cli("report", "assessment", "--level", "station", "--period", "2026-11", "-o",
                   str(table), env=env, check=True)
    assert "按期处置率" in done.stdout and "visits_ratio" in table.read_text("utf-8-sig")
    bad = run_cli("report", "bulletin", "--beat", "B01", "--week", WEEK, "-o",
                  str(tmp_path / "b.doc"), env=env)
    assert bad.returncode == 2 and ".pdf or .html" in bad.stderr


def test_assessment_sums_the_daily_patrol_coverage_and_leaves_out_what_is_missing(
        client, auth, engine, settings):
    from gridsvc.services.patrol import shift_coverage

    assert client.get("/api/v1/assessments/beat?period=2026-11",
                      headers=auth()).status_code == 403
    r = client.get("/api/v1/assessments/beat?period=2026-11", headers=auth("dispatcher"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["first"] == "2026-11-01" and report["last"] == "2026-11-30"
    assert report["patrol_days"] > 0
    # Recomputed here: one beat's due and visited point-rounds, day by day.
    first = date.fromisoformat(report["patrol_from"])
    due = visited = 0
    for k in range(report["patrol_days"]):
        day = shift_coverage(engine, settings.duty, day=first + timedelta(days=k))
        row = next((b for b in day["by"]["beat"] if b["id"] == "B01"), None)
        if row:
            due, visited = due + row["due"], visited + row["visited"]
    b01 = next(row for row in report["rows"] if row["id"] == "B01")
    assert (b01["patrol_due"], b01["patrol_visited"]) == (due, visited)
    # The score stands on the figures that exist, each against its target.
    figures = {"patrol": visited / due, "staffing": b01["staffing_ratio"],
               "on_time": b01["events_on_time_ratio"], "visits": b01["visits_ratio"]}
    basis = [k for k, v in figures.items() if v is not None]
    assert b01["basis"] == " ".join(basis) and "patrol" in basis and "visits" in basis
    w, t = report["weights"], report["targets"]
    expected = sum(w[k] * min(figures[k] / t[k], 1) for k in basis) / sum(w[k] for k in basis)
    assert b01["score"] == pytest.approx(100 * expected, abs=0.06)
    station = client.get("/api/v1/assessments/station?period=2026-11",
                         headers=auth("dispatcher")).json()
    assert station["rows"][0]["patrol_due"] == sum(x["patrol_due"] for x in report["rows"])
    x = client.get("/api/v1/assessments/officer?period=2026-11&format=xlsx",
                   headers=auth("dispatcher"))
    assert x.status_code == 200 and x.content[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(x.content))["考核"]
    assert sheet["A1"].value == "编号" and sheet.max_row > 2
    p = client.get("/api/v1/assessments/grid?period=2026-Q4&format=pdf",
                   headers=auth("dispatcher"))
    assert "网格考核表" in _text(p.content) and "走访率" in _text(p.content)
    page = _png(p.content, "assessment-grid.png")
    assert (page.min(axis=2) < 128).mean() > 0.01  # a table was drawn, not a blank page
