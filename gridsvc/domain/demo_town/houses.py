"""House numbers, addresses and the people living in houses.

Numbers run 1..n within a village along serpentine rows: rows 80 m high from the north, the first
row west to east, the next east to west, and so on, the way a census taker walks the village.
About 3 % of houses carry a sub-number ("203-1"): a house built later next to number 203 takes
203-1 instead of renumbering the village. Totals (registered and resident people, rental houses,
floating residents) are hit exactly by nudging random houses by one after a random draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import names
from .geometry import reading_order

N_HOUSES = 9000
REGISTERED = 33_000
RESIDENTS = 25_000
"""Resident people, floating residents included."""
RENTALS = 635
FLOATING = 495
FLOATING_OUTSIDE_RENTALS = 45
SUB_SHARE = 0.03
ROW_M = 80.0
N_APARTMENTS = 12


def number_houses(
    xy: np.ndarray,
    village: np.ndarray,
    rng: np.random.Generator,
    forced: dict[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """House numbers per village (serpentine rows) and sub-numbers.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) metric house points.
    village : numpy.ndarray
        Village index of every house.
    rng : numpy.random.Generator
    forced : dict, optional
        ``{village: number}``: make sure the house after `number` in that village is
        "number-1" (the dispatcher examples rely on it).

    Returns
    -------
    number : numpy.ndarray
        1..m within every village, m being the number of houses without a sub-number.
    sub_number : numpy.ndarray
        1 for a sub-numbered house, 0 otherwise.
    """
    forced = forced or {}
    number = np.zeros(len(xy), dtype=int)
    sub = np.zeros(len(xy), dtype=int)
    for v in np.unique(village):
        idx = np.flatnonzero(village == v)
        x, y = xy[idx].T
        row = np.floor((y.max() - y) / ROW_M)
        order = idx[np.lexsort((np.where(row % 2 == 0, x, -x), row))]
        is_sub = rng.random(len(order)) < SUB_SHARE
        is_sub[0] = False
        is_sub[1:] &= ~is_sub[:-1]  # never two sub-numbers in a row: 203-1, not 203-2
        if int(v) in forced:
            at = int(np.searchsorted(np.cumsum(~is_sub), forced[int(v)]))
            is_sub[at + 1] = True
            is_sub[at + 2 : at + 3] = False
        number[order] = np.cumsum(~is_sub)
        sub[order[is_sub]] = 1
    return number, sub


def adjust_total(
    values: np.ndarray, target: int, lower: np.ndarray, upper: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Nudge random entries by one, within ``[lower, upper]``, until `values` sums to `target`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> adjust_total(np.array([1, 1, 1]), 6, np.zeros(3), np.full(3, 2), rng).tolist()
    [2, 2, 2]
    """
    values = np.asarray(values).copy()
    for _ in range(10_000):
        diff = int(target - values.sum())
        if diff == 0:
            return values
        room = upper - values if diff > 0 else values - lower
        idx = np.flatnonzero(room > 0)
        if len(idx) == 0:
            break
        pick = rng.choice(idx, size=min(abs(diff), len(idx)), replace=False)
        values[pick] += np.sign(diff)
    raise ValueError(f"cannot reach a total of {target} within the bounds")


def populate(
    stay_share: np.ndarray,
    rental_weight: np.ndarray,
    floating_weight: np.ndarray,
    single_household: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Households, registered and resident people, rentals and floating residents per house.

    Parameters
    ----------
    stay_share : numpy.ndarray
        Share of registered people who live at home (the rest work away).
    rental_weight : numpy.ndarray
        Relative chance of a house being rented out.
    floating_weight : numpy.ndarray
        Relative chance of a non-rental house lodging a floating resident.
    single_household : numpy.ndarray
        Houses that are one flat (one household).

    Returns
    -------
    pandas.DataFrame
        Columns households, registered, residents, floating, is_rental, rental_stars (0 = none).
    """
    n = len(stay_share)
    households = rng.choice((1, 2, 3), size=n, p=(0.52, 0.34, 0.14))
    households[single_household] = 1
    registered = households + rng.poisson(1.4 * households)
    registered = adjust_total(registered, REGISTERED, households, 6 * households, rng)
    stay = rng.binomial(registered, stay_share)
    stay = adjust_total(stay, RESIDENTS - FLOATING, np.zeros(n, int), registered, rng)
    rental = np.zeros(n, dtype=bool)
    rental[rng.choice(n, RENTALS, replace=False, p=rental_weight / rental_weight.sum())] = True
    stars = np.zeros(n, dtype=int)
    stars[rental] = rng.choice(np.arange(1, 6), RENTALS, p=(0.06, 0.16, 0.34, 0.30, 0.14))
    floating = np.zeros(n, dtype=int)
    rentals = np.flatnonzero(rental)
    on_rentals = FLOATING - FLOATING_OUTSIDE_RENTALS
    floating[rentals] = rng.multinomial(on_rentals, np.full(RENTALS, 1 / RENTALS))
    w = np.where(rental, 0.0, floating_weight)
    floating[rng.choice(n, FLOATING_OUTSIDE_RENTALS, replace=False, p=w / w.sum())] += 1
    return pd.DataFrame(
        {
            "households": households,
            "registered": registered,
            "residents": stay + floating,
            "floating": floating,
            "is_rental": rental,
            "rental_stars": stars,
        }
    )


def compound_addresses(
    xy: np.ndarray, compound: np.ndarray, rng: np.random.Generator
) -> tuple[list, list, list]:
    """Building numbers of compound houses, and unit/room for a handful of apartment entries.

    Parameters
    ----------
    compound : numpy.ndarray
        Compound index of every house, -1 outside compounds.

    Returns
    -------
    building, unit, room : list of (str or None)
    """
    n = len(xy)
    building: list = [None] * n
    unit: list = [None] * n
    room: list = [None] * n
    for c in np.unique(compound[compound >= 0]):
        idx = np.flatnonzero(compound == c)
        for k, i in enumerate(idx[reading_order(xy[idx, 0], xy[idx, 1], 15.0)]):
            building[i] = str(k + 1)
    inside = np.flatnonzero(compound >= 0)
    for i in np.sort(rng.choice(inside, min(N_APARTMENTS, len(inside)), replace=False)):
        unit[i] = str(int(rng.integers(1, 4)))
        room[i] = f"{int(rng.integers(2, 10))}0{int(rng.integers(1, 3))}"
    return building, unit, room


def house_aliases(
    village: np.ndarray,
    village_names: list[str],
    seat_candidates: np.ndarray,
    rng: np.random.Generator,
    n_village_aliases: int = 19,
) -> list[str]:
    """Shop and old names ("|"-separated, "" for none) of a few houses.

    The seat names go to `seat_candidates` (houses of the 镇 seat near its centre); the generic
    ones go to houses of other villages, one name per village and kind.
    """
    aliases = [""] * len(village)
    seat = rng.choice(seat_candidates, len(names.SEAT_ALIASES), replace=False)
    for house, alias in zip(seat, names.SEAT_ALIASES, strict=True):
        aliases[house] = "|".join(alias)
    seat_village = int(village[seat_candidates[0]])
    used: set[str] = set()
    others = np.flatnonzero((village != seat_village) & (np.array(aliases) == ""))
    for house in rng.permutation(others):
        if len(used) == n_village_aliases:
            break
        kind = names.VILLAGE_ALIAS_KINDS[len(used) % len(names.VILLAGE_ALIAS_KINDS)]
        alias = names.short(village_names[village[house]]) + kind
        if alias not in used:
            used.add(alias)
            aliases[house] = alias
    return aliases
