"""Understand an address the way a caller says it: village + house number, no street.

A caller says "东灌底村203号着火了". Villages have no streets, so an address is a village name
followed by a house number, maybe a sub-number (``203-1``, ``203之1``, ``203号之一``,
``203附1``), or, in a compound, a building, unit and room (``7幢2单元802室``). People drop the
村 suffix, prefix the town, write full-width or Chinese numerals, mistype one character of the
village, type a homophone (the input method offered 东灌低 for dōng guàn dǐ), or type pinyin
(``dgd203``, ``dongguandi 203``), and wrap it all in other words ("报警，…着火了！").

:meth:`AddressBook.parse` reads such a text in three steps:

1. **normalise**: NFKC (full-width digits and punctuation become ASCII), lower case; the names
   of towns (``八都镇``) are removed and noted as context.
2. **find the village**: every village gets a score from the best of these kinds of evidence
   (all precomputed per village by :meth:`AddressBook.from_records`):

   =====================================  ======  ==========================================
   evidence                               score   how
   =====================================  ======  ==========================================
   full name or name without suffix       1.00    substring of the text
   homophone (same toneless pinyin)       0.90    syllables of a run of characters (pypinyin)
   full pinyin typed                      0.90    letters of the text equal the pinyin
   pinyin initials typed (``dgd``)        0.85    letters equal the initials; initials are
                                                  ambiguous (上田 and 水塔 are both ``st``)
   fuzzy name (one wrong/missing char)    0.85 s  s = mean of rapidfuzz ratios (0-1) on
                                                  characters and on toneless pinyin, best run
                                                  of Han characters, kept if >= 0.6
   =====================================  ======  ==========================================

3. **read the number** from the text left once the village and town are taken out: Chinese
   numerals become digits first (see :func:`chinese_to_int`), then building/unit/room, house
   number and sub-number are read by patterns; what is left is reported as ignored.

A candidate's score is ``village score * house factor``: 1.0 when every part said matches a
house; 0.9 for other houses on the same number (``203-1`` when ``203`` was said), for one of
several houses of a building, and for the main number when the sub-number said does not
exist; 0.8 for other sub-numbers then; 0.6 for the village alone when no number was said and
0.5 when the number does not exist there. An exact village with an exact number therefore
scores 1.0 and nothing else does. Candidates are sorted by score, then house id, then
village id: the result is deterministic. A text naming no known village (no evidence above,
fuzzy similarity below 0.6) returns the closest villages by name, ``house_id`` None, scored
``0.5 * similarity``.

The parser is pure Python on precomputed tables: about 30 villages are scored with a few
rapidfuzz calls each, so a query takes well under a millisecond on the demo town.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from gridsvc.domain.address.house_numbers import ParsedNumbers, read_numbers

__all__ = ["AddressBook", "Candidate", "strip_suffix", "syllable"]

VILLAGE_SUFFIXES = ("居委会", "社区", "村")
TOWN_SUFFIXES = ("街道", "镇", "乡")

# Scores of the kinds of village evidence, and house factors (see the module docstring).
_EXACT, _HOMOPHONE, _PINYIN_FULL, _PINYIN_INITIALS, _FUZZY = 1.0, 0.9, 0.9, 0.85, 0.85
_FUZZY_MIN = 0.6  # below this similarity a name is not a guess any more but unknown
_KEEP_BELOW_BEST = 0.15  # villages within this of the best one also yield candidates
_WINDOW_SLACK = 0.08  # similarity a longer window may give up to be the span of the name
_H_EXACT, _H_SIBLING, _H_NO_SUB, _H_OTHER_SUB = 1.0, 0.9, 0.9, 0.8
_H_VILLAGE, _H_NO_NUMBER = 0.6, 0.5
_UNKNOWN = 0.5

# The one table pypinyin/rapidfuzz cannot give: the values of Chinese numeral characters.
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Candidate:
    """One reading of the text: a house (or only a village) with a score and reasons.

    ``house_id`` is None when only the village could be found (no number said, a number that
    does not exist there, or an unknown village: then ``village_id`` is a close village).
    ``score`` is in [0, 1]; 1.0 only for an exact village with an exact house.
    """

    house_id: str | None
    village_id: str
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _House:
    id: str
    village_id: str
    number: int
    sub_number: int | None
    building: str | None
    unit: str | None
    room: str | None
    aliases: tuple[str, ...]

    def label(self) -> str:
        s = f"{self.number}" + (f"-{self.sub_number}" if self.sub_number is not None else "")
        if self.building is not None:
            s += f" {self.building}幢"
        if self.unit is not None:
            s += f"{self.unit}单元"
        if self.room is not None:
            s += f"{self.room}室"
        return s


@dataclass(frozen=True)
class _Village:
    id: str
    name: str
    short: str
    town_id: str | None
    syllables: tuple[str, ...]  # toneless, one per character of ``short`` (homophone key)
    pinyins: frozenset[str]  # full pinyin of short and full name, phrase-aware and per char
    initials: frozenset[str]


def strip_suffix(name: str, suffixes: Sequence[str] = VILLAGE_SUFFIXES) -> str:
    """The name without its administrative suffix; the name itself if that would leave nothing.

    >>> strip_suffix("东灌底村"), strip_suffix("八都社区"), strip_suffix("村")
    ('东灌底', '八都', '村')
    """
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=65536)
def syllable(ch: str) -> str:
    """Toneless pinyin of one character (its most common reading); the character if not Han."""
    if not _HAN.match(ch):
        return ch
    return lazy_pinyin(ch)[0]


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


class AddressBook:
    """Villages and houses, with every name variant precomputed, ready to :meth:`parse`.

    Build it with :meth:`from_records`; it holds no database connection.
    """

    def __init__(self, villages: list[_Village], towns: Mapping[str, str],
                 houses: list[_House]) -> None:
        self._villages = sorted(villages, key=lambda v: v.id)
        self._by_id = {v.id: v for v in self._villages}
        self._towns = dict(towns)
        # Town names to strip: the full name, and for names with a suffix the short form plus
        # suffix variants (竹垟畲族乡 is also said 竹垟乡); never the bare short name, which
        # is often a village's name too (八都 is 八都社区).
        forms: dict[str, str] = {}
        for tid, name in self._towns.items():
            forms[name] = tid
            short = strip_suffix(name, TOWN_SUFFIXES)
            short = short.removesuffix("畲族").removesuffix("民族")
            if short != name:
                for suffix in TOWN_SUFFIXES:
                    forms.setdefault(short + suffix, tid)
        self._town_forms = sorted(forms.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        self._houses = {h.id: h for h in houses}
        self._by_number: dict[tuple[str, int], list[_House]] = defaultdict(list)
        self._by_building: dict[tuple[str, str], list[_House]] = defaultdict(list)
        self._aliases: dict[str, list[_House]] = defaultdict(list)
        for h in sorted(houses, key=lambda h: h.id):
            self._by_number[h.village_id, h.number].append(h)
            if h.building is not None:
                self._by_building[h.village_id, h.building].append(h)
            for alias in h.aliases:
                self._aliases[_normalise(alias)].append(h)
        self._alias_list = sorted(self._aliases, key=lambda a: (-len(a), a))
        # Exact names, longest first, so 西灌底村 is never read as 灌底 of something else.
        exact = [(n, v) for v in self._villages for n in {v.name, v.short}]
        self._exact = sorted(exact, key=lambda nv: (-len(nv[0]), nv[1].id))
        self._by_syllables: dict[tuple[str, ...], list[_Village]] = defaultdict(list)
        for v in self._villages:
            self._by_syllables[v.syllables].append(v)
        self._max_syllables = max((len(s) for s in self._by_syllables), default=0)
        self._fuzzy_names = [(v, v.name, "".join(syllable(c) for c in v.name))
                             for v in self._villages]
        rows = [(v, n) for v in self._villages for n in dict.fromkeys((v.name, v.short))]
        self._fz_village = [v for v, _ in rows]
        self._fz_chars = [n for _, n in rows]
        self._fz_py = ["".join(syllable(c) for c in n) for _, n in rows]
        self._fz_len = np.array([len(n) for _, n in rows])
        self._fz_rows = [(v, [i for i, (w, _) in enumerate(rows) if w is v])
                         for v in self._villages]
        self._max_name = int(self._fz_len.max(initial=0))

    @classmethod
    def from_records(cls, villages: Iterable[Mapping[str, Any]],
                     towns: Iterable[Mapping[str, Any]],
                     houses: Iterable[Mapping[str, Any]]) -> AddressBook:
        """Build the book from plain records (the service layer reads them from the database).

        Parameters
        ----------
        villages : records ``{id, name, town_id}``
        towns : records ``{id, name}``
        houses : records ``{id, village_id, number, sub_number, building, unit, room,
            aliases}``; ``sub_number`` is an int or None, building/unit/room are strings or
            None, ``aliases`` is a "|"-separated string (may be empty or None) or a list.

        Examples
        --------
        >>> book = AddressBook.from_records(
        ...     [{"id": "V1", "name": "东灌底村", "town_id": "T1"}],
        ...     [{"id": "T1", "name": "八都镇"}],
        ...     [{"id": "H1", "village_id": "V1", "number": 203, "sub_number": None,
        ...       "building": None, "unit": None, "room": None, "aliases": ""}])
        >>> c = book.parse("八都镇东灌底村二百零三号着火了")[0]
        >>> c.house_id, c.score
        ('H1', 1.0)
        >>> book.parse("dgd 203")[0].house_id
        'H1'
        """
        vs = []
        for r in villages:
            name = str(r["name"])
            short = strip_suffix(name)
            pinyins = {"".join(lazy_pinyin(n)) for n in (name, short)}
            pinyins |= {"".join(syllable(c) for c in n) for n in (name, short)}
            initials = {"".join(lazy_pinyin(n, style=Style.FIRST_LETTER)) for n in (name, short)}
            vs.append(_Village(id=str(r["id"]), name=name, short=short,
                               town_id=r.get("town_id"),
                               syllables=tuple(syllable(c) for c in short),
                               pinyins=frozenset(pinyins), initials=frozenset(initials)))
        ts = {str(t["id"]): str(t["name"]) for t in towns}
        hs = []
        for r in houses:
            aliases = r.get("aliases") or ()
            if isinstance(aliases, str):
                aliases = aliases.split("|")
            hs.append(_House(
                id=str(r["id"]), village_id=str(r["village_id"]), number=int(r["number"]),
                sub_number=None if r.get("sub_number") is None else int(r["sub_number"]),
                building=optional_text(r.get("building")), unit=optional_text(r.get("unit")),
                room=optional_text(r.get("room")),
                aliases=tuple(a.strip() for a in aliases if a and a.strip())))
        return cls(vs, ts, hs)

    # -- parsing -------------------------------------------------------------------------

    def parse(self, text: str, limit: int = 5) -> list[Candidate]:
        """Candidates for what ``text`` names, best first, at most ``limit``.

        Parameters
        ----------
        text : what the caller said or the dispatcher typed, in any of the forms listed in
            the module docstring, with any other words around it.
        limit : the most candidates to return (at least 1 is returned unless the book has no
            village at all).

        Returns
        -------
        list of Candidate
            Sorted by score (descending), then house id, then village id. Empty only for an
            empty book. A text with no recognisable village returns the closest villages with
            ``house_id`` None and a reason starting ``village unknown``.

        Examples
        --------
        Edge cases are pinned in ``tests/unit/test_address.py`` on the demo town.
        """
        if not self._villages or limit < 1:
            return []
        norm = _normalise(text)
        mask = list(norm)  # characters consumed so far become spaces
        context: list[str] = []
        for form, tid in self._town_forms:
            i = norm.find(form)
            if i >= 0:
                mask[i:i + len(form)] = " " * len(form)
                context.append(f"town {form} ({self._towns[tid]})")
                break
        alias_hits = self._find_alias("".join(mask))
        scored = self._score_villages("".join(mask))
        best = scored[0][1] if scored else 0.0
        if best < _FUZZY_MIN * _FUZZY and not alias_hits:
            return self._unknown(norm, "".join(mask), scored, limit)
        out: list[Candidate] = []
        for alias, houses in alias_hits:
            for h in houses:
                v = self._by_id[h.village_id]
                out.append(Candidate(h.id, v.id, 1.0, [f"house {v.name} {h.label()} known as "
                                                       f"{alias}", *context]))
        kept = [s for s in scored if s[1] >= best - _KEEP_BELOW_BEST and s[1] > 0][:limit]
        for v, vscore, span, reason in kept:
            rest = list(mask)
            if span is not None:
                lo, hi = span
                # the suffix said after a short name or a guessed name belongs to the name
                for suffix in VILLAGE_SUFFIXES:
                    if norm.startswith(suffix, hi):
                        hi += len(suffix)
                        break
                rest[lo:hi] = " " * (hi - lo)
            for alias, _ in alias_hits:
                i = "".join(rest).find(alias)
                if i >= 0:
                    rest[i:i + len(alias)] = " " * len(alias)
            parsed = read_numbers("".join(rest))
            town_reasons = list(context)
            if context and v.town_id is not None and self._towns.get(v.town_id):
                town_name = self._towns[v.town_id]
                if not any(town_name in c for c in context):
                    town_reasons.append(f"town said is not {town_name}, the town of {v.name}")
            for hid, factor, house_reasons in self._houses_for(v, parsed):
                out.append(Candidate(hid, v.id, round(vscore * factor, 4),
                                     [reason, *house_reasons, *parsed.reasons, *town_reasons]))
        out.sort(key=lambda c: (-c.score, c.house_id or "", c.village_id))
        seen: set[tuple[str | None, str]] = set()
        unique = []
        for c in out:
            if (c.house_id, c.village_id) not in seen:
                seen.add((c.house_id, c.village_id))
                unique.append(c)
        return unique[:limit]

    def _find_alias(self, text: str) -> list[tuple[str, list[_House]]]:
        return [(a, self._aliases[a]) for a in self._alias_list if a in text][:1]

    def _score_villages(
        self, text: str
    ) -> list[tuple[_Village, float, tuple[int, int] | None, str]]:
        """Every village's best evidence in ``text``: (village, score, span, reason), best first.
        """
        best: dict[str, tuple[float, tuple[int, int] | None, str]] = {}

        def offer(v: _Village, score: float, span: tuple[int, int] | None, reason: str) -> None:
            if v.id not in best or score > best[v.id][0]:
                best[v.id] = (score, span, reason)

        for name, v in self._exact:
            i = text.find(name)
            if i >= 0 and v.id not in best:
                offer(v, _EXACT, (i, i + len(name)), f"village {v.name} matched exactly"
                      + ("" if name == v.name else f" (said {name})"))
        if best and max(s for s, _, _ in best.values()) == _EXACT:
            return self._ranked(best)
        syl = [syllable(c) for c in text]
        for i in range(len(text)):
            for k in range(2, self._max_syllables + 1):
                if i + k > len(text):
                    break
                for v in self._by_syllables.get(tuple(syl[i:i + k]), ()):
                    said = text[i:i + k]
                    offer(v, _HOMOPHONE, (i, i + k),
                          f"village guessed from {said} (homophone of {v.short})")
        letters = re.sub(r"[^a-z]+", "", text)
        if letters:
            at = [i for i, c in enumerate(text) if "a" <= c <= "z"]
            lspan = (at[0], at[-1] + 1)
            for v in self._villages:
                if letters in v.pinyins:
                    offer(v, _PINYIN_FULL, lspan, f"village {v.name} from pinyin {letters}")
                elif letters in v.initials:
                    offer(v, _PINYIN_INITIALS, lspan,
                          f"village {v.name} from pinyin initials {letters}")
                else:
                    sim = max(Levenshtein.normalized_similarity(letters, p) for p in v.pinyins)
                    if sim >= 0.75:
                        offer(v, round(_FUZZY * sim, 4), lspan,
                              f"village {v.name} guessed from pinyin {letters} "
                              f"(similarity {sim:.2f})")
        han_positions = [i for i, c in enumerate(text) if _HAN.match(c)]
        if han_positions and not (best and max(s for s, _, _ in best.values()) >= _HOMOPHONE):
            self._fuzzy(text, syl, han_positions, offer)
        return self._ranked(best)

    def _fuzzy(self, text: str, syl: list[str], han: list[int], offer: Any) -> None:
        # Compare every run of 2-5 Han characters of the text (digits and letters are no part
        # of a name) with every name, by characters and by toneless pinyin, and average the
        # two: characters alone miss 东灌低 for 东灌底, pinyin alone reads 灌庭村 as 官田村.
        # One rapidfuzz cdist call per kind keeps this in C.
        han_text = "".join(text[i] for i in han)
        # a name is said in one piece: windows never cross a digit, letter or space
        run_end = [0] * len(han)
        for k in range(len(han) - 1, -1, -1):
            joined = k + 1 < len(han) and han[k + 1] == han[k] + 1
            run_end[k] = run_end[k + 1] if joined else k + 1
        windows = [(lo, hi) for lo in range(len(han_text))
                   for hi in range(lo + 2, min(lo + self._max_name + 2, run_end[lo] + 1))]
        if not windows:
            return
        w_chars = [han_text[lo:hi] for lo, hi in windows]
        w_py = ["".join(syl[i] for i in han[lo:hi]) for lo, hi in windows]
        sim = (cdist(self._fz_chars, w_chars, scorer=fuzz.ratio)
               + cdist(self._fz_py, w_py, scorer=fuzz.ratio)) / 200
        w_len = np.array([hi - lo for lo, hi in windows])
        sim[np.abs(self._fz_len[:, None] - w_len[None, :]) > 1] = 0
        for v, rows in self._fz_rows:
            best = sim[rows].max(axis=0)  # per window, the better of full and short name
            s = float(best.max())
            if s < _FUZZY_MIN:
                continue
            # The score is the best window's; the span (what was said for the name) is the
            # longest window nearly as good: 东灌庭村, not 东灌 (a bit closer to the short 东灌底).
            near = np.flatnonzero(best >= s - _WINDOW_SLACK)
            j = int(near[np.argmax(w_len[near])])
            lo, hi = windows[j]
            said = han_text[lo:hi]
            offer(v, round(_FUZZY * s, 4), (han[lo], han[hi - 1] + 1),
                  f"village guessed from {said} (closest name {v.name}, similarity {s:.2f})")

    def _ranked(self, best: Mapping[str, tuple[float, tuple[int, int] | None, str]]
                ) -> list[tuple[_Village, float, tuple[int, int] | None, str]]:
        rows = [(self._by_id[vid], s, span, r) for vid, (s, span, r) in best.items()]
        rows.sort(key=lambda row: (-row[1], row[0].id))
        return rows

    def _unknown(self, norm: str, text: str, scored: list, limit: int) -> list[Candidate]:
        han_text = "".join(c for c in text if _HAN.match(c)) or norm.strip()
        said = re.sub(r"[零〇一二两三四五六七八九十百千号幢栋单元室房之附]+.*$", "", han_text)
        said = said or han_text
        sims = []
        py_said = "".join(syllable(c) for c in said)
        for v, name, py_name in self._fuzzy_names:
            sim = max(fuzz.ratio(name, said), fuzz.ratio(py_name, py_said)) / 100
            sims.append((v, sim))
        sims.sort(key=lambda vs: (-vs[1], vs[0].id))
        return [Candidate(None, v.id, round(_UNKNOWN * sim, 4),
                          [f"village unknown: no village named like {said}",
                           f"closest village {v.name} (similarity {sim:.2f})"])
                for v, sim in sims[:limit]]

    def _houses_for(self, v: _Village, p: ParsedNumbers
                    ) -> list[tuple[str | None, float, list[str]]]:
        """(house id or None, house factor, reasons) for the parts read, in village ``v``."""
        if p.building is not None:
            houses = [h for h in self._by_building.get((v.id, p.building), ())
                      if (p.unit is None or h.unit == p.unit)
                      and (p.room is None or h.room == p.room)
                      and (p.number is None or h.number == p.number)]
            if len(houses) == 1:
                return [(houses[0].id, _H_EXACT, [f"house {houses[0].label()} matched"])]
            if houses:
                return [(h.id, _H_SIBLING, [f"building {p.building} has {len(houses)} houses "
                                            "matching; one of them"]) for h in houses]
            said = f"{p.building}幢" + (f"{p.unit}单元" if p.unit else "") + (
                f"{p.room}室" if p.room else "")
            if p.number is None:
                return [(None, _H_NO_NUMBER, [f"no house {said} in {v.name}"])]
            extra = [f"no house {said} in {v.name}: showing number {p.number}"]
        else:
            extra = []
        if p.number is None:
            return [(None, _H_VILLAGE, ["no house number heard", *extra])]
        houses = self._by_number.get((v.id, p.number), [])
        if not houses:
            return [(None, _H_NO_NUMBER, [f"no house {p.number} in {v.name}", *extra])]
        out = []
        if p.sub_number is not None:
            exact = [h for h in houses if h.sub_number == p.sub_number]
            if exact:
                out += [(h.id, _H_EXACT, [f"house {h.label()} matched", *extra]) for h in exact]
            else:
                out += [(h.id, _H_NO_SUB, [f"house {p.number} has no sub-number "
                                           f"{p.sub_number}: showing {h.label()}", *extra])
                        for h in houses if h.sub_number is None]
            out += [(h.id, _H_OTHER_SUB, [f"house {h.label()} shares number {p.number}",
                                          *extra])
                    for h in houses if h.sub_number not in (None, p.sub_number)]
        else:
            out += [(h.id, _H_EXACT, [f"house {h.label()} matched", *extra])
                    for h in houses if h.sub_number is None]
            out += [(h.id, _H_SIBLING, [f"house {h.label()} shares number {p.number}", *extra])
                    for h in houses if h.sub_number is not None]
        return out


def optional_text(x: Any) -> str | None:
    """A record's value as text, None when missing (None or NaN)."""
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)
