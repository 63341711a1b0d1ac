"""Reading addresses the way callers say them (gridsvc.domain.address.parser), on the demo town."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from gridsvc.domain.address.house_numbers import chinese_to_int
from gridsvc.domain.address.parser import AddressBook, Candidate
from gridsvc.domain.address.spoken_forms import labelled_spoken_forms, spoken_forms

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_town"
H203, H203_1 = "H003233", "H003234"  # 东灌底村 203 and 203-1
DGD = "V102207"


def _props(name: str) -> list[dict]:
    with open(DEMO / name, encoding="utf-8") as f:
        return [feature["properties"] for feature in json.load(f)["features"]]


@pytest.fixture(scope="module")
def records() -> tuple[list[dict], list[dict], list[dict]]:
    villages = [{"id": v["id"], "name": v["name"], "town_id": v["parent_id"]}
                for v in _props("villages.geojson")]
    towns = [{"id": t["id"], "name": t["name"]} for t in _props("towns.geojson")]
    return villages, towns, _props("houses.geojson")


@pytest.fixture(scope="module")
def book(records) -> AddressBook:
    return AddressBook.from_records(*records)


def _top(book: AddressBook, text: str) -> Candidate:
    candidates = book.parse(text)
    assert candidates, text
    return candidates[0]


@pytest.mark.parametrize("text", [
    "东灌底村203号",
    "东灌底203",
    "东灌底村 203",
    "八都镇东灌底村203号",
    "东灌底村２０３号",
    "东灌底村二百零三号",
    "东灌底村两百零三号",
    "东灌底村二零三号",
    "东灌底村203号着火了",
    "报警，东灌底村 203号有人打架！",
    "  东灌底村。203号，报警！！ ",
    "东灌底村203号房子着火了",  # 房子 is the house, not a room
    "东灌底村贰佰零叁号",  # the capital numerals of forms and receipts
    "东灌底村的203号",
    "浙江省龙泉市八都镇东灌底村203号",
])
def test_exact_forms_give_house_203_with_score_1(book, text):
    top = _top(book, text)
    assert (top.house_id, top.village_id, top.score) == (H203, DGD, 1.0), top
    assert "village 东灌底村 matched exactly" in top.reasons[0]


def test_sibling_sub_number_is_second(book):
    first, second = book.parse("东灌底村203号")[:2]
    assert (first.house_id, second.house_id) == (H203, H203_1)
    assert first.score > second.score


def test_reasons_say_what_was_ignored_and_converted(book):
    top = _top(book, "东灌底村二百零三号着火了")
    assert "number 203 from Chinese numerals 二百零三" in top.reasons
    assert "ignored: 着火了" in top.reasons
    assert any("town 八都镇" in r for r in _top(book, "八都镇东灌底村203号").reasons)


@pytest.mark.parametrize("text", ["东灌底村203-1", "东灌底村203之1", "东灌底村203号之一",
                                  "东灌底村203附1", "东灌底村203号附1", "东灌底村２０３－１"])
def test_sub_number_forms(book, text):
    top = _top(book, text)
    assert (top.house_id, top.score) == (H203_1, 1.0), (text, top)


def test_missing_sub_number_shows_main_number(book):
    top = _top(book, "东灌底村203-2")
    assert top.house_id == H203
    assert "house 203 has no sub-number 2: showing 203" in top.reasons
    assert top.score < 1.0


@pytest.mark.parametrize("text", ["八都社区7幢1单元802室", "八都社区7栋1单元802房",
                                  "八都社区7号楼1单元802", "八都7幢1单元802室"])
def test_building_unit_room(book, text):
    top = _top(book, text)
    assert (top.house_id, top.score) == ("H001033", 1.0), (text, top)


def test_building_without_room_lists_its_houses(book):
    candidates = book.parse("八都社区7幢", limit=20)
    assert len(candidates) > 1
    assert all(c.village_id == "V102001" and c.house_id is not None for c in candidates)


@pytest.mark.parametrize(("text", "said"), [("东灌庭村203号", "东灌庭村"),  # one wrong char
                                            ("东灌院村203号", "东灌院村"),
                                            ("东底村203号", "东底村"),  # one missing char
                                            ("东灌村203号", "东灌村")])
def test_mistyped_village(book, text, said):
    top = _top(book, text)
    assert (top.house_id, top.village_id) == (H203, DGD), top
    assert 0.5 < top.score < 0.9
    assert "guessed" in top.reasons[0]
    assert f"guessed from {said}" in top.reasons[0]


def test_ambiguous_guess_shows_both_villages(book):
    # 灌底村 is 东灌底村 or 西灌底村 with one character missing: both are offered, as guesses
    candidates = book.parse("灌底村203号")
    assert {c.village_id for c in candidates[:2]} == {DGD, "V102209"}
    assert all(c.score < 0.9 and c.house_id is not None for c in candidates[:2])


def test_homophone_village(book):
    top = _top(book, "东灌低村203号")
    assert (top.house_id, top.score) == (H203, 0.9)
    assert top.reasons[0] == "village guessed from 东灌低 (homophone of 东灌底)"


@pytest.mark.parametrize("text", ["dgd203", "DGD 203", "dongguandi 203", "dong guan di 203号",
                                  "dongguandicun203"])
def test_pinyin(book, text):
    top = _top(book, text)
    assert top.house_id == H203, (text, top)
    assert "pinyin" in top.reasons[0]


def test_unknown_village_returns_close_villages(book):
    candidates = book.parse("不存在村5号")
    assert candidates
    assert all(c.house_id is None for c in candidates)
    assert all(c.reasons[0].startswith("village unknown") for c in candidates)
    assert len({c.village_id for c in candidates}) == len(candidates)


def test_village_only(book):
    top = _top(book, "东灌底村着火了")
    assert (top.house_id, top.village_id) == (None, DGD)
    assert "no house number heard" in top.reasons
    top = _top(book, "东灌底村99999号")
    assert top.house_id is None and "no house 99999 in 东灌底村" in top.reasons


def test_alias(book):
    top = _top(book, "八都供销社着火了")
    assert top.house_id == "H000388" and top.score == 1.0


def test_ranking_is_deterministic_and_bounded(book):
    for text in ["st5", "东灌底村203号", "不存在村5号", "dgd203", "东底村203号"]:
        a, b = book.parse(text, limit=10), book.parse(text, limit=10)
        assert a == b
        keys = [(-c.score, c.house_id or "", c.village_id) for c in a]
        assert keys == sorted(keys)
        assert all(0.0 <= c.score <= 1.0 for c in a)
    assert len(book.parse("东灌底村203号", limit=1)) == 1


def test_chinese_numerals():
    cases = {"十三": 13, "十": 10, "二十": 20, "两百": 200, "二百零三": 203, "一百一": 110,
             "一百零一": 101, "一千零二十": 1020, "零": 0, "三〇五": 305, "两千五": 2500}
    assert {k: chinese_to_int(k) for k in cases} == cases


def test_spoken_forms_are_reproducible(records):
    villages, towns, houses = records
    house = next(h for h in houses if h["id"] == H203_1)
    village = next(v for v in villages if v["id"] == DGD)
    town = next(t for t in towns if t["id"] == village["town_id"])
    a = spoken_forms(house, village, town, np.random.default_rng(7))
    assert a == spoken_forms(house, village, town, np.random.default_rng(7))
    assert "东灌底村203号之1" in a and "dgd203-1" in a


def test_accuracy_on_spoken_forms(book, records):
    villages, towns, houses = records
    v_by_id = {v["id"]: v for v in villages}
    t_by_id = {t["id"]: t for t in towns}
    rng = np.random.default_rng(20240601)
    sample = rng.choice(len(houses), size=300, replace=False)
    # the compound flats are few; add them all so their forms are tested too
    picked = sorted(set(sample.tolist()) | {i for i, h in enumerate(houses) if h["unit"]})
    total, failures, per_form = 0, [], Counter()
    for i in picked:
        house = houses[i]
        village = v_by_id[house["village_id"]]
        for form, text in labelled_spoken_forms(house, village, t_by_id[village["town_id"]],
                                                rng):
            total += 1
            top = book.parse(text, limit=1)
            if not top or top[0].house_id != house["id"]:
                failures.append((form, text, house["id"], top[0] if top else None))
                per_form[form] += 1
    accuracy = 1 - len(failures) / total
    assert total > 3000
    assert accuracy >= 0.98, (accuracy, per_form, failures[:8])
