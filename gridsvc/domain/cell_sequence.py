"""Ids, codes and names of new cells, continuing their parent's sequence.

Grid codes follow CJ/T 349 (DESIGN.md): the village's 12-digit code + a 3-digit grid sequence;
the demo's grid ids are ``G`` + the code without the county (``G102001001``), its beat ids ``B01``
and beat codes the station's code + 2 digits. A new cell continues the sequence its parent's
children use (in any plan, so a retired id is never given to a different cell), keeping their
id prefix and widths; a parent with no children yet gets the defaults below.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gridsvc.domain.house_numbers import int_to_chinese

#: Digits of the sequence in a child's code, by kind, when no child shows it.
CODE_DIGITS = {"grid": 3, "beat": 2}
_TRAILING = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class NewCell:
    """A new cell's ``business_id``, ``code`` (None when the parent has none) and ``name``."""

    business_id: str
    code: str | None
    name: str


def next_cells(kind: str, parent_id: str, parent_code: str | None, parent_name: str,
               used: Iterable[tuple[str, str | None]], count: int,
               taken: Callable[[str], bool] = lambda _: False) -> list[NewCell]:
    """``count`` new children of a parent, numbered after the highest sequence in use.

    Parameters
    ----------
    kind
        ``"grid"`` or ``"beat"``.
    parent_id, parent_code, parent_name
        The parent (a village for grids, a station for beats).
    used
        ``(business_id, code)`` of the parent's children in every plan.
    count
        How many to make.
    taken
        Whether an id is used by any other cell of the kind (it is then skipped).

    Examples
    --------
    >>> [c.business_id for c in next_cells("grid", "V102001", "331181102001", "八都社区",
    ...     [("G102001001", "331181102001001"), ("G102001002", "331181102001002")], 2)]
    ['G102001003', 'G102001004']
    >>> next_cells("grid", "V9", "331181102009", "某村", [], 1)[0]
    NewCell(business_id='G102009001', code='331181102009001', name='某村第1网格')
    >>> next_cells("beat", "S01", "331181510100", "龙泉市公安局八都派出所",
    ...            [("B01", "33118151010001"), ("B05", "33118151010005")], 1)[0]
    NewCell(business_id='B06', code='33118151010006', name='八都派出所第六警务区')
    """
    used = list(used)
    digits = _code_digits(kind, parent_code, used)
    prefix, width, top = _id_pattern(kind, parent_id, parent_code, digits, used)
    out: list[NewCell] = []
    seq = top
    while len(out) < count:
        seq += 1
        business_id = f"{prefix}{seq:0{width}d}"
        if taken(business_id):
            continue
        code = f"{parent_code}{seq:0{digits}d}" if parent_code else None
        out.append(NewCell(business_id, code, _name(kind, parent_name, seq)))
    return out


def _id_pattern(kind: str, parent_id: str, parent_code: str | None, digits: int,
                used: list[tuple[str, str | None]]) -> tuple[str, int, int]:
    """Prefix, digits and highest sequence of the children's ids. The sequence is the last
    ``digits`` digits (the width the codes use: ``G102001`` + ``001``), else every trailing
    digit."""
    parsed = []
    for bid, _ in used:
        if len(bid) > digits and bid[-digits:].isdigit():
            parsed.append((bid[:-digits], bid[-digits:]))
        elif m := _TRAILING.match(bid):
            parsed.append((m.group(1), m.group(2)))
    if parsed:
        prefix, _ = Counter(p for p, _ in parsed).most_common(1)[0]
        mine = [seq for p, seq in parsed if p == prefix]
        return prefix, max(len(seq) for seq in mine), max(int(seq) for seq in mine)
    if kind == "grid" and parent_code and len(parent_code) == 12 and parent_code.isdigit():
        return f"G{parent_code[6:]}", digits, 0  # the demo's scheme
    return f"{parent_id}-{kind[0].upper()}", digits, 0


def _code_digits(kind: str, parent_code: str | None, used: list[tuple[str, str | None]]) -> int:
    if parent_code:
        widths = Counter(len(code) - len(parent_code) for _, code in used
                         if code and code.startswith(parent_code) and len(code) > len(parent_code))
        if widths:
            return widths.most_common(1)[0][0]
    return CODE_DIGITS.get(kind, 3)


def _name(kind: str, parent_name: str, seq: int) -> str:
    if kind == "grid":
        return f"{parent_name}第{seq}网格"
    # "龙泉市公安局八都派出所" -> "八都派出所第一警务区", as the demo names its beats.
    short = parent_name.split("公安局")[-1] or parent_name
    return f"{short}第{int_to_chinese(seq) if seq < 10000 else seq}警务区"
