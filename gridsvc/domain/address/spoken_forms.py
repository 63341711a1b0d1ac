"""The ways people say a house's address, for the parser's tests and the dispatch benchmark.

Forms: with and without 村 and 号, a space, the town first, full-width digits, Chinese numerals,
sub-numbers, building/unit/room, pinyin initials and full pinyin, a homophone, one wrong or
missing character in the village name (a character whose pinyin is one letter away: the slips
of a pinyin input method), and extra words around it.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from pypinyin import Style, lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict
from rapidfuzz.distance import Levenshtein

from gridsvc.domain.address.house_numbers import int_to_chinese
from gridsvc.domain.address.parser import optional_text, strip_suffix, syllable


@lru_cache(maxsize=1)
def _chars_bysyllable() -> dict[str, tuple[str, ...]]:
    """Common characters (CJK basic block) by toneless pinyin, from pypinyin's dictionary."""
    table: dict[str, list[str]] = defaultdict(list)
    for code, readings in pinyin_dict.items():
        if 0x4E00 <= code <= 0x9FA5:
            first = readings.split(",")[0]
            bare = "".join(c for c in unicodedata.normalize("NFKD", first)
                           if not unicodedata.combining(c))
            table[bare].append(chr(code))
    return {k: tuple(sorted(v)) for k, v in table.items()}


def _replace(name: str, i: int, ch: str) -> str:
    return name[:i] + ch + name[i + 1:]


def labelled_spoken_forms(house: Mapping[str, Any], village: Mapping[str, Any],
                          town: Mapping[str, Any], rng: np.random.Generator
                          ) -> list[tuple[str, str]]:
    """(form name, text) for the ways people say ``house``; see :func:`spoken_forms`."""
    name, town_name = str(village["name"]), str(town["name"])
    short = strip_suffix(name)
    suffix = name[len(short):]
    n, sub = int(house["number"]), house.get("sub_number")
    sub = None if sub is None else int(sub)
    b, u, r = (optional_text(house.get(k)) for k in ("building", "unit", "room"))
    num = f"{n}" + ("" if sub is None else f"-{sub}")
    num_hao = f"{n}号" + ("" if sub is None else f"之{sub}")
    liang = bool(rng.integers(2))
    cn = int_to_chinese(n, liang=liang) + "号" + (
        "" if sub is None else "之" + int_to_chinese(sub))
    full_width = num_hao.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    forms = [
        ("village+number+号", f"{name}{num_hao}"),
        ("no suffix", f"{short}{num}"),
        ("space", f"{name} {num}"),
        ("town prefix", f"{town_name}{name}{num_hao}"),
        ("full-width digits", f"{name}{full_width}"),
        ("Chinese numerals", f"{name}{cn}"),
        ("extra words", f"{name}{num_hao}着火了"),
        ("punctuation", f"报警，{name} {num_hao}有人打架！"),
        ("pinyin initials", "".join(lazy_pinyin(short, style=Style.FIRST_LETTER)) + num),
        ("full pinyin", "".join(lazy_pinyin(short)) + f" {num}"),
    ]
    if sub is not None:
        forms += [("sub 之", f"{name}{n}之{sub}"), ("sub 号之一", f"{name}{n}号之"
                                                    + int_to_chinese(sub)),
                  ("sub 附", f"{name}{n}附{sub}")]
    if b is not None:
        bur = f"{b}幢" + (f"{u}单元" if u else "") + (f"{r}室" if r else "")
        forms.append(("building", f"{name}{num_hao}{bur}" if u is None else f"{name}{bur}"))
        if u is not None:
            forms.append(("building 栋/房", f"{short}{b}栋{u}单元{r}房"))
            forms.append(("building 号楼", f"{name}{b}号楼{u}单元{r}"))
    # A homophone of one character of the name, as an input method offers it.
    table = _chars_bysyllable()
    i = int(rng.integers(len(short)))
    same = [c for c in table.get(syllable(short[i]), ()) if c != short[i]]
    if same:
        forms.append(("homophone", _replace(short, i, same[int(rng.integers(len(same)))])
                      + suffix + num_hao))
    # One wrong character whose pinyin is one letter away (前/鼻音, n/l: common in the south).
    i = int(rng.integers(len(short)))
    s = syllable(short[i])
    near = sorted(k for k in table if k != s and Levenshtein.distance(k, s) == 1)
    if near:
        chars = table[near[int(rng.integers(len(near)))]]
        forms.append(("typo: wrong char", _replace(short, i, chars[int(rng.integers(len(chars)))])
                      + suffix + num_hao))
    # One missing character: only from names of 3+ characters (one left names nothing).
    if len(short) >= 3:
        i = int(rng.integers(len(short)))
        forms.append(("typo: missing char", short[:i] + short[i + 1:] + suffix + num_hao))
    return forms


def spoken_forms(house: Mapping[str, Any], village: Mapping[str, Any], town: Mapping[str, Any],
                 rng: np.random.Generator) -> list[str]:
    """Texts saying ``house`` in the ways callers do, for accuracy tests and benchmarks.

    Covers: village + number + 号, no suffix, a space, town prefix, full-width digits,
    Chinese numerals (两 or 二 at random), extra words, punctuation, pinyin initials, full
    pinyin, sub-number forms (之, 号之一, 附) when the house has one, building/unit/room forms
    when it has them, a homophone of one character, one wrong character with a pinyin one
    letter away, and (names of 3+ characters) one missing character. Random choices come
    from ``rng`` only, so a seeded generator gives the same texts every time.

    Parameters
    ----------
    house : record ``{number, sub_number, building, unit, room, ...}``
    village : record ``{name, ...}``
    town : record ``{name, ...}``
    rng : ``np.random.default_rng(seed)``

    Examples
    --------
    >>> forms = spoken_forms({"number": 203, "sub_number": None}, {"name": "东灌底村"},
    ...                      {"name": "八都镇"}, np.random.default_rng(0))
    >>> forms[:3]
    ['东灌底村203号', '东灌底203', '东灌底村 203']
    """
    return [text for _, text in labelled_spoken_forms(house, village, town, rng)]


def town_queries(towns: list[Mapping[str, Any]], villages: list[Mapping[str, Any]],
                 houses: list[Mapping[str, Any]], n_houses: int, rng: np.random.Generator
                 ) -> list[tuple[str, str]]:
    """``(house id, what a caller says)`` for ``n_houses`` random houses, every form of each.

    ``villages`` carry ``parent_id`` (their town), as the demo town's files do.
    """
    by_village = {v["id"]: v for v in villages}
    by_town = {t["id"]: t for t in towns}
    out = []
    for i in rng.choice(len(houses), n_houses, replace=False).tolist():
        house = houses[i]
        village = by_village[house["village_id"]]
        town = by_town[village["parent_id"]]
        out += [(house["id"], text) for text in spoken_forms(house, village, town, rng)]
    return out
