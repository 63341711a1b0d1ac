"""Assessments (考核) of officers, grid workers, grids, beats and stations over a period (pure).

Each unit gets figures, each figure a score against its target, and a weighted total:

- ``patrol``: patrol coverage, visited point-rounds / due point-rounds of the unit's cells
  over the period's days that have patrol records (see the service); target e.g. 0.9.
- ``staffing``: the unit's cell against the staffing standard, officers / officers required
  (beat, station; an officer: their beats), or grid workers / 2 (grid; a grid worker: their
  grids), capped at 1; target 1.
- ``on_time``: events handled within every deadline / events handled (按期处置率) of the
  unit's cells; reported, handled, closed and returned are shown beside it.
- ``visits``: houses of the unit's cells visited in the period / houses (a person: by their
  own visits); target e.g. 1 (every house) for a year.

A figure that is not available (None: nothing to divide by, e.g. no event handled) is left
out of the total and the weights of the others are renormalised, so a unit is never marked
down for what nobody records; ``basis`` lists the figures a total stands on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta

PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])|H([12])))?$")
LEVELS = ("officer", "grid_worker", "grid", "beat", "station")


def period_bounds(text: str) -> tuple[date, date]:
    """First and last day of ``2026-11`` (month), ``2026-Q4``, ``2026-H2`` or ``2026`` (year).

    Raises
    ------
    ValueError
        Any other shape, a year outside 1900..9000, or month 0 or 13.

    >>> period_bounds("2026-Q4")
    (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))
    >>> period_bounds("2026-02")
    (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
    """
    m = PERIOD.match(text.strip())
    if not m or not 1900 <= int(m[1]) <= 9000:
        raise ValueError(f"write the period as 2026-11, 2026-Q4, 2026-H2 or 2026 (got {text!r})")
    year = int(m[1])
    if m[2]:
        month = int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"no month {month}")
        first_month, months = month, 1
    elif m[3]:
        first_month, months = 3 * int(m[3]) - 2, 3
    elif m[4]:
        first_month, months = 6 * int(m[4]) - 5, 6
    else:
        first_month, months = 1, 12
    first = date(year, first_month, 1)
    end_month = first_month + months
    after = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return first, after - timedelta(days=1)


def score(figures: Mapping[str, float | None], weights: Mapping[str, float],
          targets: Mapping[str, float]) -> tuple[float | None, list[str]]:
    """The weighted total (0-100) of the available figures, each as a share of its target
    (capped at 1), and the figures it stands on. None when no weighted figure is available.

    >>> score({"patrol": 0.45, "staffing": 1.0, "on_time": None},
    ...       {"patrol": 0.5, "staffing": 0.2, "on_time": 0.3},
    ...       {"patrol": 0.9, "staffing": 1.0, "on_time": 0.95})
    (64.3, ['patrol', 'staffing'])
    """
    total = weight = 0.0
    basis = []
    for name, w in weights.items():
        value = figures.get(name)
        if value is None or w <= 0:
            continue
        target = targets.get(name, 1.0)
        total += w * min(value / target, 1.0) if target > 0 else w
        weight += w
        basis.append(name)
    return (round(100.0 * total / weight, 1) if weight else None), basis
