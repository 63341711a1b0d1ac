"""gridsvc.domain.address.numbering: serpentine order and next-free house numbers (no database)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from gridsvc.domain.address import numbering
from gridsvc.domain.address.numbering import number_houses, serpentine_order, to_local_metres

# A 3 x 3 grid of houses 100 m apart, listed in a scrambled order. Walked serpentine:
# north row W->E (a b c), middle row E->W (f e d), south row W->E (g h i).
GRID = {"a": (0, 200), "b": (100, 200), "c": (200, 200),
        "d": (0, 100), "e": (100, 100), "f": (200, 100),
        "g": (0, 0), "h": (100, 0), "i": (200, 0)}
SCRAMBLED = ["e", "i", "a", "f", "c", "g", "b", "h", "d"]
X = np.array([GRID[k][0] for k in SCRAMBLED], dtype=float)
Y = np.array([GRID[k][1] for k in SCRAMBLED], dtype=float)


def test_serpentine_order_on_a_grid():
    order = serpentine_order(X, Y, row_height_m=80)
    assert [SCRAMBLED[i] for i in order] == list("abcfedghi")


def test_rows_tolerate_jitter_within_the_row_height():
    y = Y + np.array([5, -10, 0, 20, -3, 7, -30, 12, 1])  # a wobbly row is still one row
    order = serpentine_order(X, y - y.max() + 200, row_height_m=80)
    walked = [SCRAMBLED[i] for i in order]
    assert set(walked[:3]) == set("abc") and set(walked[3:6]) == set("def")


def test_empty_bands_do_not_flip_the_direction():
    # Two rows 1 km apart: the second row walked is still east to west.
    order = serpentine_order([0, 10, 0, 10], [1000, 1000, 0, 0], row_height_m=80)
    assert order.tolist() == [0, 1, 3, 2]


def test_all_new_houses_get_one_to_n_in_serpentine_order():
    got = number_houses(np.zeros(9, dtype=int), X, Y, row_height_m=80)
    expected = {k: n for n, k in enumerate("abcfedghi", start=1)}
    assert got.tolist() == [expected[k] for k in SCRAMBLED]


def test_existing_numbers_are_kept_and_new_ones_take_the_next_free():
    existing = np.array([0, 0, 0, 12, 5, 0, 3, 0, 0])  # f=12, c=5, b=3 are numbered
    got = number_houses(existing, X, Y, row_height_m=80)
    by_house = dict(zip(SCRAMBLED, got.tolist(), strict=True))
    assert (by_house["f"], by_house["c"], by_house["b"]) == (12, 5, 3)
    # The new ones, in serpentine order a, e, d, g, h, i, from max + 1 = 13; no gap is reused.
    assert [by_house[k] for k in "aedghi"] == [13, 14, 15, 16, 17, 18]


def test_minus_one_also_means_unnumbered_and_duplicates_stay():
    existing = np.array([4, 4, -1, 0])
    got = number_houses(existing, [0, 10, 20, 30], [0, 0, 0, 0])
    assert got.tolist() == [4, 4, 5, 6]


def test_nothing_new_changes_nothing():
    existing = np.arange(1, 10)
    assert number_houses(existing, X, Y).tolist() == existing.tolist()


def test_ties_in_position_follow_input_order():
    # Three houses on one spot (flats of one building) and one to the east.
    got = number_houses([0, 0, 0, 0], [50, 0, 0, 0], [0, 0, 0, 0])
    assert got.tolist() == [4, 1, 2, 3]
    # In an east-to-west row, same x still keeps input order.
    order = serpentine_order([0, 5, 5, 9], [200, 0, 0, 0], row_height_m=80)
    assert order.tolist() == [0, 3, 1, 2]


def test_empty_input():
    assert number_houses([], [], []).tolist() == []
    assert serpentine_order([], []).tolist() == []


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="row_height_m"):
        serpentine_order([0], [0], row_height_m=0)
    with pytest.raises(ValueError, match="as long as x"):
        number_houses([0, 0], [0], [0])


def test_to_local_metres_is_centred_and_scaled():
    x, y = to_local_metres([120.0, 120.01], [30.0, 30.01])
    assert x.sum() == pytest.approx(0, abs=1e-6) and y.sum() == pytest.approx(0, abs=1e-6)
    # 0.01 degree of latitude is about 1,112 m; of longitude at 30 N, about 963 m.
    assert y[1] - y[0] == pytest.approx(1111.95, abs=0.5)
    assert x[1] - x[0] == pytest.approx(963.0, abs=1.0)


def test_doctests():
    result = doctest.testmod(numbering, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
