"""The CJK font embedded in every PDF, found through fontconfig.

ReportLab embeds a subset of a TrueType font (only the glyphs used), so a page is small and
prints the same on any printer. The font is looked up once per process with ``fc-list`` /
``fc-match`` (a font that covers Chinese, preferring the one fontconfig would pick for
``sans-serif:lang=zh-cn``); ``GRIDSVC_CJK_FONT`` may name the file instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache

from gridsvc.errors import MissingDependency

FONT = "GridsvcCJK"
INSTALL = ("no font covering Chinese was found: install one (Debian: apt-get install "
           "fonts-wqy-microhei, which scripts/setup.sh does) or set GRIDSVC_CJK_FONT to a "
           ".ttf/.ttc file")


def _fc(*args: str) -> list[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def cjk_font_file() -> str:
    """The path of a TrueType/TrueType-collection font covering Chinese.

    Raises
    ------
    MissingDependency
        No fontconfig, or no such font (the message says what to install). OpenType-CFF
        fonts (.otf) are skipped: ReportLab cannot embed them.
    """
    chosen = os.environ.get("GRIDSVC_CJK_FONT")
    if chosen:
        if not os.path.isfile(chosen):
            raise MissingDependency(f"GRIDSVC_CJK_FONT={chosen!r} is not a file")
        return chosen
    if shutil.which("fc-list") is None:
        raise MissingDependency("fontconfig (fc-list) is missing; " + INSTALL)
    usable = [f for f in _fc("fc-list", ":lang=zh", "-f", "%{file}\n")
              if f.lower().endswith((".ttf", ".ttc"))]
    preferred = _fc("fc-match", "-f", "%{file}\n", "sans-serif:lang=zh-cn")
    for f in preferred + sorted(usable):
        if f in usable:
            return f
    raise MissingDependency(INSTALL)


@cache
def register() -> str:
    """Register the CJK font with ReportLab (once per process); returns its ReportLab name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = cjk_font_file()
    pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
    return FONT
