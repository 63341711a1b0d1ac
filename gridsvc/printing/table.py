"""An assessment as a table: CSV, XLSX (openpyxl) or a landscape A4 PDF."""

from __future__ import annotations

import csv
import io
from typing import Any

#: Column headings (Chinese, as filed) of the assessment rows.
HEADINGS = {
    "id": "编号", "name": "名称", "cells": "责任区", "patrol_due": "应巡点次",
    "patrol_visited": "已巡点次", "patrol_ratio": "巡逻覆盖率", "check_ins": "本人打卡",
    "staffing_ratio": "配备达标率", "events_reported": "上报事件", "events_handled": "已处置",
    "events_on_time_ratio": "按期处置率", "events_closed": "办结", "events_returned": "退回",
    "own_reports": "本人上报",
    "houses": "辖区户数", "houses_visited": "走访户数", "visits_ratio": "走访率",
    "score": "得分", "basis": "计分依据",
}
LEVELS = {"officer": "社区民警", "grid_worker": "网格员", "grid": "网格", "beat": "警务区",
          "station": "派出所"}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if value == "not available":
        return "暂无数据"
    if value == "not recorded":
        return "未记录"
    return value


def csv_bytes(report: dict[str, Any]) -> bytes:
    """The rows as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(report["rows"][0]) if report["rows"] else
                            ["id"])
    writer.writeheader()
    writer.writerows(report["rows"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(report: dict[str, Any]) -> bytes:
    """A workbook: sheet 考核 (headed rows) and sheet 说明 (period, weights, targets, notes)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "考核"
    keys = [k for k in HEADINGS if not report["rows"] or k in report["rows"][0]]
    ws.append([HEADINGS[k] for k in keys])
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in report["rows"]:
        ws.append([_cell(row.get(k)) for k in keys])
    ws.freeze_panes = "C2"
    about = wb.create_sheet("说明")
    about.append(["对象", LEVELS[report["level"]]])
    about.append(["期间", f"{report['period']}（{report['first']} 至 {report['last']}）"])
    for name, w in report["weights"].items():
        about.append([f"权重 {name}", w, f"目标 {report['targets'][name]}"])
    for note in report["notes"]:
        about.append(["说明", note])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pdf_bytes(report: dict[str, Any]) -> bytes:
    """The table on landscape A4 pages (headings repeated), with the notes under it."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from gridsvc.printing.fonts import register

    font = register()
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    h1 = ParagraphStyle("h", parent=body, fontSize=16, leading=22, alignment=1)
    keys = ["id", "name", "patrol_due", "patrol_visited", "patrol_ratio", "check_ins",
            "staffing_ratio", "events_reported", "events_handled", "events_on_time_ratio",
            "events_closed", "events_returned", "own_reports", "houses", "houses_visited",
            "visits_ratio", "score"]

    def fmt(k: str, v: Any) -> str:
        v = _cell(v)
        if isinstance(v, float) and k.endswith("ratio"):
            return f"{100 * v:.1f}%"
        return str(v)

    rows = [[HEADINGS[k] for k in keys]] + [[fmt(k, r.get(k)) for k in keys]
                                            for r in report["rows"]]
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 8), ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef8")),
        ("ALIGN", (2, 1), (-1, -1), "RIGHT")]))
    title = (f"{LEVELS[report['level']]}考核表 {report['period']}"
             f"（{report['first']} 至 {report['last']}）")
    weights = "；".join(f"{k} 权重 {w:g}，目标 {report['targets'][k]:g}"
                       for k, w in report["weights"].items())
    story = [Paragraph(title, h1), Spacer(1, 4 * mm), table, Spacer(1, 4 * mm),
             Paragraph(f"计分：{weights}。", body)]
    story += [Paragraph(n, body) for n in report["notes"]]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                      topMargin=10 * mm, bottomMargin=10 * mm, title=title).build(story)
    return out.getvalue()


def render(report: dict[str, Any], fmt: str) -> bytes:
    """``csv``, ``xlsx`` or ``pdf`` bytes of an assessment."""
    return {"csv": csv_bytes, "xlsx": xlsx_bytes, "pdf": pdf_bytes}[fmt](report)
