"""House numbers as people write and say them: digits, Chinese numerals, sub-numbers, flats.

Shared by the dispatcher's parser (:mod:`gridsvc.domain.address.parser`) and the house register
(:mod:`gridsvc.domain.address.house_register`), so both read ``203-1``, ``203之1``, ``二百零三号``,
``7幢2单元802室`` the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
# The "capital" numerals of receipts and forms (大写数字): 贰佰零叁 is 203.
_CN_DIGITS.update({"壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8,
                   "玖": 9})
_CN_UNITS.update({"拾": 10, "佰": 100, "仟": 1000})
_CN_RUN = re.compile("[" + "".join(_CN_DIGITS) + "".join(_CN_UNITS) + "]+")


_BUILDING = re.compile(r"(\d+)\s*(?:号楼|幢|栋|座)")
_UNIT = re.compile(r"(\d+)\s*单元")
# 房 after a number is a room (802房), but 房子 is the house itself (203号房子 = house 203).
_ROOM = re.compile(r"(\d+)\s*(?:室|号房(?!子)|房(?!子))")
_ROOM_AFTER_UNIT = re.compile(r"单元\s*(\d+)")
_NUMBER = re.compile(r"(\d+)\s*(?:号)?\s*(?:(?:-|_|—|之|附|号之|号附)\s*(\d+)\s*号?)?")
_IGNORABLE = re.compile(r"[\s\W_号]+")


@dataclass
class ParsedNumbers:
    """What :func:`read_numbers` found; ``reasons`` say how (and what was ignored)."""

    number: int | None = None
    sub_number: int | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    reasons: list[str] = field(default_factory=list)


def chinese_to_int(text: str) -> int:
    """The value of a Chinese numeral, as said in house numbers.

    Digits alone are read digit by digit (二零三 is 203, as numbers are often read out). With
    units, the usual reading: 十三 is 13, 两百 is 200, 二百零三 is 203, 一千零二十 is 1020. A
    last digit right after 百 or 千 with no 零 is the colloquial short form and counts one unit
    lower: 一百一 is 110, 两千五 is 2500 (一百零一 is 101).

    >>> [chinese_to_int(s) for s in ["二零三", "十三", "二百零三", "两百", "一百一", "一百零一"]]
    [203, 13, 203, 200, 110, 101]
    >>> chinese_to_int("")
    Traceback (most recent call last):
    ...
    ValueError: not a Chinese numeral: ''
    """
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    if not any(ch in _CN_UNITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, digit, last_unit, after_zero = 0, None, None, False
    for ch in text:
        if ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit, last_unit, after_zero = None, _CN_UNITS[ch], False
        elif _CN_DIGITS[ch] == 0:
            after_zero = True
        else:
            digit = _CN_DIGITS[ch]
    if digit is not None:
        colloquial = last_unit is not None and last_unit >= 100 and not after_zero
        total += digit * (last_unit // 10 if colloquial else 1)
    return total


def int_to_chinese(n: int, liang: bool = False) -> str:
    """The standard Chinese numeral for 0 <= n < 10000; ``liang`` says 两 for a leading 2.

    >>> [int_to_chinese(n) for n in (0, 7, 13, 20, 110, 203, 1020)]
    ['零', '七', '十三', '二十', '一百一十', '二百零三', '一千零二十']
    >>> int_to_chinese(200, liang=True)
    '两百'
    """
    if not 0 <= n < 10000:
        raise ValueError(f"out of range: {n}")
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n - 10] if n > 10 else "")
    out, zero = [], False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(("两" if liang and not out and d == 2 and value >= 100 else digits[d]) + unit)
    return "".join(out)


def read_numbers(text: str) -> ParsedNumbers:
    """House number, sub-number, building, unit, room from ``text`` (village already removed).

    >>> p = read_numbers(" 二百零三号之一着火了")
    >>> p.number, p.sub_number, p.reasons
    (203, 1, ['number 203 from Chinese numerals 二百零三', 'number 1 from Chinese numerals 一', \
'ignored: 着火了'])
    >>> p = read_numbers("7栋2单元802房")
    >>> p.building, p.unit, p.room, p.number
    ('7', '2', '802', None)
    """
    p = ParsedNumbers()

    def convert(m: re.Match[str]) -> str:
        run = m.group(0)
        value = str(chinese_to_int(run))
        p.reasons.append(f"number {value} from Chinese numerals {run}")
        return value

    text = _CN_RUN.sub(convert, text)
    mask = list(text)

    def take(pattern: re.Pattern[str]) -> re.Match[str] | None:
        m = pattern.search("".join(mask))
        if m is not None:
            mask[m.start():m.end()] = " " * (m.end() - m.start())
        return m

    if m := take(_BUILDING):
        p.building = str(int(m.group(1)))
    if m := take(_UNIT):
        p.unit = str(int(m.group(1)))
        # a room said right after the unit needs no 室 (2单元802)
        tail = "".join(mask)[m.end():]
        r = re.match(r"\s*(\d+)\s*(?:室|号房|房)?", tail)
        if r:
            p.room = r.group(1)
            mask[m.end():m.end() + r.end()] = " " * r.end()
    if p.room is None and (m := take(_ROOM)):
        p.room = m.group(1)
    if m := take(_NUMBER):
        p.number = int(m.group(1))
        if m.group(2) is not None:
            p.sub_number = int(m.group(2))
    left = _IGNORABLE.sub("", "".join(mask))
    if left:
        p.reasons.append(f"ignored: {left}")
    return p
