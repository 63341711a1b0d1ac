"""Contact cards (警民联系卡) as a print-ready A4 PDF: 8 business cards (85 x 54 mm, 2 x 4) a
page, butted together with crop marks in the margins, so one guillotine cut per line.

The QR code is a vCard (name, phone, office, title) that any phone's camera adds to its
contacts without a network or a server. Cards that share an officer share one QR drawing (a
PDF form drawn once and placed many times), which keeps a village's file small and fast.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

CARD_W_MM, CARD_H_MM = 85.0, 54.0
COLS, ROWS = 2, 4
MARK_MM, MARK_GAP_MM = 5.0, 1.5


@dataclass(frozen=True)
class Card:
    """What one card prints."""

    address: str
    officer: dict[str, Any] | None
    grid_workers: list[dict[str, Any]]
    office: dict[str, Any] | None

    def vcard(self) -> str | None:
        """The vCard of the officer (None without an officer or phone)."""
        if not self.officer or not self.officer.get("phone"):
            return None
        from segno import helpers

        return helpers.make_vcard_data(
            name=f"{self.officer['name']};", displayname=self.officer["name"],
            phone=self.officer["phone"], title="社区民警",
            org=self.office["name"] if self.office else None)


def _fit(canvas: Any, text: str, font: str, size: float, width: float) -> float:
    """The largest size up to ``size`` (down to 5 pt) at which ``text`` fits ``width``."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    w = stringWidth(text, font, size)
    return size if w <= width else max(5.0, size * width / w)


def _qr_form(canvas: Any, data: str, side: float, cache: dict[str, str]) -> str:
    """A PDF form holding the QR code of ``data`` (made once per distinct data)."""
    name = cache.get(data)
    if name is not None:
        return name
    import segno

    qr = segno.make(data, error="m", micro=False)
    matrix = qr.matrix
    n = len(matrix) + 8  # the quiet zone of 4 modules each side
    cell = side / n
    name = f"qr{len(cache)}"
    canvas.beginForm(name)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(0, 0, side, side, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                # One rectangle per run of dark modules, slightly overlapping the next row
                # so no hairline gap shows when printed.
                path.rect((start + 4) * cell, side - (r + 5) * cell, (c - start) * cell,
                          cell * 1.02)
            else:
                c += 1
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.endForm()
    cache[data] = name
    return name


def _crop_marks(canvas: Any, left: float, bottom: float, w: float, h: float) -> None:
    from reportlab.lib.units import mm

    mark, gap = MARK_MM * mm, MARK_GAP_MM * mm
    top, right = bottom + ROWS * h, left + COLS * w
    canvas.setLineWidth(0.3)
    canvas.setStrokeColorRGB(0, 0, 0)
    for i in range(COLS + 1):
        x = left + i * w
        canvas.line(x, top + gap, x, top + gap + mark)
        canvas.line(x, bottom - gap, x, bottom - gap - mark)
    for j in range(ROWS + 1):
        y = bottom + j * h
        canvas.line(left - gap, y, left - gap - mark, y)
        canvas.line(right + gap, y, right + gap + mark, y)


def _card(canvas: Any, card: Card, x: float, y: float, w: float, h: float, font: str,
          qr_cache: dict[str, str]) -> None:
    from reportlab.lib.units import mm

    pad = 3.5 * mm
    band = 9 * mm
    # The title band, bled to the card's edges (the cut goes through the band's colour).
    canvas.setFillColorRGB(0.10, 0.24, 0.49)
    canvas.rect(x, y + h - band, w, band, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.setFont(font, 12)
    canvas.drawString(x + pad, y + h - band + 2.8 * mm, "警民联系卡")
    if card.office:
        size = _fit(canvas, card.office["name"], font, 8, w - 32 * mm - pad)
        canvas.setFont(font, size)
        canvas.drawRightString(x + w - pad, y + h - band + 3.2 * mm, card.office["name"])
    qr_side = 24 * mm
    text_w = w - 2 * pad - qr_side - 1.5 * mm
    canvas.setFillColorRGB(0.1, 0.1, 0.1)
    lines: list[tuple[str, float]] = [(f"地址：{card.address}", 7.5)]
    if card.officer:
        phone = card.officer.get("phone") or "—"
        lines.append((f"社区民警：{card.officer['name']}  {phone}", 8.5))
    else:
        lines.append(("社区民警：待配备", 8.5))
    workers = card.grid_workers[:2]
    if workers:
        for i, gw in enumerate(workers):
            lines.append((f"{'网格员：' if i == 0 else '　　　　'}{gw['name']}  "
                          f"{gw.get('phone') or '—'}", 7.5))
    else:
        lines.append(("网格员：待配备", 7.5))
    if card.office:
        if card.office.get("phone"):
            lines.append((f"警务室电话：{card.office['phone']}", 7.5))
        if card.office.get("opening_hours"):
            lines.append((f"办公时间：{card.office['opening_hours']}", 7.5))
    ty = y + h - band - 4.6 * mm
    for text, size in lines:
        canvas.setFont(font, _fit(canvas, text, font, size, text_w))
        canvas.drawString(x + pad, ty, text)
        ty -= size * 0.42 * mm + 1.6 * mm
    canvas.setFillColorRGB(0.69, 0, 0)
    canvas.setFont(font, 9)
    canvas.drawString(x + pad, y + pad - 0.5 * mm, "紧急情况请拨打 110")
    data = card.vcard()
    qx, qy = x + w - pad - qr_side, y + pad + 2.5 * mm
    if data is not None:
        canvas.saveState()
        canvas.translate(qx, qy)
        canvas.doForm(_qr_form(canvas, data, qr_side, qr_cache))
        canvas.restoreState()
        canvas.setFillColorRGB(0.3, 0.3, 0.3)
        canvas.setFont(font, 6)
        canvas.drawCentredString(qx + qr_side / 2, y + pad - 0.5 * mm, "扫码保存民警电话")


def pdf(cards: list[Card], title: str) -> bytes:
    """The cards, 8 to an A4 page in address order, with crop marks. No card: one page
    saying so (a printer never gets an empty file)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from gridsvc.printing.fonts import register

    font = register()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("gridsvc")
    pw, ph = A4
    w, h = CARD_W_MM * mm, CARD_H_MM * mm
    left, bottom = (pw - COLS * w) / 2, (ph - ROWS * h) / 2
    per_page = COLS * ROWS
    qr_cache: dict[str, str] = {}
    if not cards:
        canvas.setFont(font, 14)
        canvas.drawString(left, ph / 2, f"{title}：没有门牌，无联系卡。")
    pages = (len(cards) + per_page - 1) // per_page
    for p in range(pages):
        page = cards[p * per_page:(p + 1) * per_page]
        for i, card in enumerate(page):
            col, row = i % COLS, i // COLS
            _card(canvas, card, left + col * w, bottom + (ROWS - 1 - row) * h, w, h, font,
                  qr_cache)
        _crop_marks(canvas, left, bottom, w, h)
        canvas.setFont(font, 7)
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        canvas.drawString(left, 12 * mm, f"{title}  第 {p + 1}/{pages} 页  沿裁切线裁开，"
                                         f"每张 85×54 mm")
        canvas.showPage()
    canvas.save()
    return out.getvalue()
