"""A weekly bulletin as an A4 PDF (ReportLab, the CJK font embedded) and as an HTML page.

Both come from the same :class:`~gridsvc.domain.reports.bulletin.Bulletin`, and the map is the
same shapes drawn as PDF paths and as inline SVG (no tiles: it prints and works offline).
"""

from __future__ import annotations

import io
from datetime import datetime
from html import escape
from typing import Any

from gridsvc.domain.reports.bulletin import KINDS, RAMP, Bulletin, change, week_label

MAP_MM = 78.0
NOTE = "本公告只公布到村（社区），不含门牌号和个人信息。"


def _change_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "持平"
    return f"{'↑' if value > 0 else '↓'}{abs(value):g}%"


def _summary(b: Bulletin) -> str:
    mean = b.previous_mean
    trend = change(b.total, mean)
    if trend is None:
        how = "前几周无警情"
    elif trend == 0:
        how = "与前几周持平"
    else:
        up = "上升" if trend > 0 else "下降"
        how = f"较前{b.previous_weeks}周平均（{mean:.1f}起）{up}{abs(trend):g}%"
    return f"本周共接报警情 {b.total} 起，{how}。"


def _solved_text(b: Bulletin) -> str:
    if b.solved is None:
        return "破案情况：本辖区未登记破案记录（未记录）。"
    return f"本周破获案件 {b.solved} 起。"


def _title(b: Bulletin) -> str:
    return f"{b.area_name}{'' if b.area_name.endswith(KINDS[b.kind]) else KINDS[b.kind]}警情公告"


def _contact(b: Bulletin) -> str:
    o = b.office
    if not o:
        return "报警电话：110"
    hours = f"（办公时间 {o['opening_hours']}）" if o.get("opening_hours") else ""
    phone = f" 电话 {o['phone']}" if o.get("phone") else ""
    return f"报警电话：110　{o['name']}{phone}{hours}"


# -- PDF ----------------------------------------------------------------------------------


def pdf(b: Bulletin, generated: datetime) -> bytes:
    """The bulletin as A4 PDF bytes (one page for a beat; a station's long village table may
    run on)."""
    from reportlab.graphics.shapes import Drawing, Path, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from gridsvc.printing.fonts import register

    font = register()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11,
                           textColor=colors.HexColor("#555555"))
    h1 = ParagraphStyle("h1", parent=body, fontSize=22, leading=28, alignment=1,
                        textColor=colors.HexColor("#b00000"))
    h2 = ParagraphStyle("h2", parent=body, fontSize=13, leading=18, spaceBefore=6,
                        spaceAfter=3, textColor=colors.HexColor("#1a3d7c"))
    sub = ParagraphStyle("sub", parent=body, alignment=1)

    def table(rows: list[list[str]], widths: list[float]) -> Table:
        t = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
        t.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), font, 9.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef8")),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b8")),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
        return t

    side = MAP_MM * mm
    shapes = b.map
    drawing = Drawing(side, side + 7 * mm)
    if shapes.get("outline"):
        k = side / shapes["width"]

        def path(rings: list, **kw: Any) -> Path:
            p = Path(**kw)
            for ring in rings:
                (x0, y0), *rest = ring
                p.moveTo(x0 * k, side - y0 * k + 7 * mm)
                for x, y in rest:
                    p.lineTo(x * k, side - y * k + 7 * mm)
                p.closePath()
            return p

        for v in shapes["villages"]:
            drawing.add(path(v["rings"], fillColor=colors.HexColor(v["fill"]),
                             strokeColor=colors.HexColor("#888888"), strokeWidth=0.4,
                             fillMode=0))
        drawing.add(path(shapes["outline"], fillColor=None, strokeColor=colors.HexColor("#1a3d7c"),
                         strokeWidth=1.4, fillMode=0))
        for v in shapes["villages"]:
            if v["label"] is not None:
                x, y = v["label"]
                drawing.add(String(x * k, side - y * k + 7 * mm - 3, v["name"], fontName=font,
                                   fontSize=6.5, textAnchor="middle",
                                   fillColor=colors.HexColor(v["ink"])))
    for i, fill in enumerate(RAMP):
        drawing.add(Path(fillColor=colors.HexColor(fill), strokeColor=colors.HexColor("#888888"),
                         strokeWidth=0.3))
        drawing.contents[-1].moveTo(i * 6 * mm, 1.5 * mm)
        for dx, dy in ((6 * mm, 0), (6 * mm, 3.5 * mm), (0, 3.5 * mm)):
            drawing.contents[-1].lineTo(i * 6 * mm + dx, 1.5 * mm + dy)
        drawing.contents[-1].closePath()
    drawing.add(String(len(RAMP) * 6 * mm + 2 * mm, 2 * mm,
                       f"本周警情 0 → {shapes.get('most', 0)} 起（按村着色）", fontName=font,
                       fontSize=7))

    cats = [["警情类别", "本周", f"前{b.previous_weeks}周平均", "变化"]] + [
        [c["category"], str(c["count"]), f"{c['previous_mean']:.1f}", _change_text(c["change"])]
        for c in b.categories] + [["合计", str(b.total), f"{b.previous_mean:.1f}",
                                   _change_text(change(b.total, b.previous_mean))]]
    cat_table = table(cats, [24 * mm, 13 * mm, 22 * mm, 18 * mm])
    cat_table.setStyle(TableStyle([("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f3f3"))]))
    top = Table([[[Paragraph("一、警情分类", h2), cat_table], drawing]],
                colWidths=[92 * mm, side + 4 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    villages = [["村（社区）", "本周", f"前{b.previous_weeks}周平均"]] + [
        [v["name"], str(v["count"]), f"{v['previous_mean']:.1f}"] for v in b.villages]
    story: list[Any] = [
        Paragraph(escape(_title(b)), h1),
        Paragraph(escape(week_label(b.monday)), sub), Spacer(1, 3 * mm),
        Paragraph(escape(_summary(b)), body), Spacer(1, 2 * mm), top,
        Paragraph("二、警情分布", h2),
        table(villages, [60 * mm, 20 * mm, 26 * mm]) if b.villages else
        Paragraph("本周及前几周无警情。", body),
        Paragraph("三、破案公告", h2), Paragraph(escape(_solved_text(b)), body),
        Paragraph("四、防范提示", h2)]
    if b.advice:
        story += [Paragraph(f"<b>{escape(c)}</b>：{escape(t)}", body) for c, t in b.advice.items()]
    else:
        story.append(Paragraph("本周无需特别提示，请继续做好日常防范。", body))
    story += [Spacer(1, 5 * mm), Paragraph(escape(_contact(b)), body), Spacer(1, 2 * mm),
              Paragraph(escape(f"{NOTE}生成时间：{generated:%Y-%m-%d %H:%M}。"), small)]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm,
                            topMargin=14 * mm, bottomMargin=12 * mm, title=_title(b),
                            author=b.office["name"] if b.office else "gridsvc",
                            subject=b.week)
    doc.build(story)
    return out.getvalue()


# -- HTML ---------------------------------------------------------------------------------


def svg(shapes: dict[str, Any]) -> str:
    """The map as an inline SVG element (empty string when there is no outline)."""
    if not shapes.get("outline"):
        return ""

    def d(rings: list) -> str:
        return " ".join("M" + " L".join(f"{x},{y}" for x, y in ring) + " Z" for ring in rings)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {shapes["width"]} '
             f'{shapes["height"]}" class="map" role="img" aria-label="本周警情分布图">']
    for v in shapes["villages"]:
        parts.append(f'<path d="{d(v["rings"])}" fill="{v["fill"]}" stroke="#888" '
                     f'stroke-width="0.5" fill-rule="evenodd"><title>{escape(v["name"])}：'
                     f'{v["count"]} 起</title></path>')
    parts.append(f'<path d="{d(shapes["outline"])}" fill="none" stroke="#1a3d7c" '
                 'stroke-width="1.6" fill-rule="evenodd"/>')
    for v in shapes["villages"]:
        if v["label"] is not None:
            x, y = v["label"]
            parts.append(f'<text x="{x}" y="{y}" font-size="7" text-anchor="middle" '
                         f'fill="{v["ink"]}">'
                         f'{escape(v["name"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html(b: Bulletin, generated: datetime) -> str:
    """The bulletin as one self-contained HTML page (prints on A4 too)."""

    def rows(items: list[list[str]]) -> str:
        return "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>"
                       for r in items)

    cats = rows([[c["category"], str(c["count"]), f"{c['previous_mean']:.1f}",
                  _change_text(c["change"])] for c in b.categories])
    vils = rows([[v["name"], str(v["count"]), f"{v['previous_mean']:.1f}"] for v in b.villages])
    advice = "".join(f"<p><b>{escape(c)}</b>：{escape(t)}</p>" for c, t in b.advice.items()) \
        or "<p>本周无需特别提示，请继续做好日常防范。</p>"
    legend = "".join(f'<span style="background:{c}"></span>' for c in RAMP)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(_title(b))}</title>
<style>
@page {{ size: A4; margin: 14mm 16mm; }}
body {{ font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; max-width: 180mm;
       margin: auto; color: #222; }}
h1 {{ color: #b00000; text-align: center; margin-bottom: 0; }}
h2 {{ color: #1a3d7c; font-size: 1.1em; margin: .8em 0 .3em; }}
.week {{ text-align: center; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #9aa5b8; padding: 2px 8px; }}
td + td, th + th {{ text-align: right; }}
th {{ background: #e8eef8; }}
.top {{ display: flex; gap: 8mm; align-items: flex-start; }}
.map {{ width: 78mm; height: 78mm; }}
.legend span {{ display: inline-block; width: 6mm; height: 3mm; border: 1px solid #888; }}
.note {{ color: #555; font-size: .85em; }}
</style></head><body>
<h1>{escape(_title(b))}</h1>
<p class="week">{escape(week_label(b.monday))}</p>
<p>{escape(_summary(b))}</p>
<div class="top"><div><h2>一、警情分类</h2>
<table><tr><th>警情类别</th><th>本周</th><th>前{b.previous_weeks}周平均</th><th>变化</th></tr>{cats}
<tr><th>合计</th><th>{b.total}</th><th>{b.previous_mean:.1f}</th>
<th>{_change_text(change(b.total, b.previous_mean))}</th></tr></table></div>
<figure>{svg(b.map)}<figcaption class="legend">{legend}
本周警情 0 → {b.map.get("most", 0)} 起（按村着色）</figcaption></figure></div>
<h2>二、警情分布</h2>
<table><tr><th>村（社区）</th><th>本周</th><th>前{b.previous_weeks}周平均</th></tr>{vils}</table>
<h2>三、破案公告</h2><p>{escape(_solved_text(b))}</p>
<h2>四、防范提示</h2>{advice}
<p>{escape(_contact(b))}</p>
<p class="note">{escape(NOTE)}生成时间：{generated:%Y-%m-%d %H:%M}。</p>
</body></html>"""
