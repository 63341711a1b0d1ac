"""Colour warnings (分色预警): incident rates and floating-population levels.

A compound or grid is coloured by its incidents per 1,000 households over a time window:
red from ``red`` on, orange from ``orange`` on, green below. A place with no households has no
rate (``None``) and gets ``"none"``: a market with incidents and no residents is a hot spot for
the incident map, not a residential risk. Floating-population levels compare floating residents
with registered ones: red, orange, yellow from their thresholds on, blue below; a place with no
registered residents but floating ones is red (all of its people are floating).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gridsvc.errors import InvalidInput, Problem

RISK_LEVELS = ("red", "orange", "green")
FLOATING_LEVELS = ("red", "orange", "yellow", "blue")
COLOURS = {"red": "#d32f2f", "orange": "#f57c00", "yellow": "#fbc02d", "green": "#388e3c",
           "blue": "#1976d2", "none": "#9e9e9e"}


def check_thresholds(values: Sequence[float], names: Sequence[str]) -> None:
    """Thresholds must be positive and strictly decreasing (red above orange above ...).

    >>> check_thresholds([60, 30], ["red", "orange"])
    >>> check_thresholds([30, 60], ["red", "orange"])
    Traceback (most recent call last):
    ...
    gridsvc.errors.InvalidInput: 1 problem(s) in the input
    - field 'red': red (30) must be above orange (60)
    """
    problems = [Problem(f"{n} must be positive, got {v}", field=n)
                for v, n in zip(values, names, strict=True) if not v > 0]
    for (hi, hn), (lo, ln) in zip(zip(values, names, strict=True),
                                  zip(values[1:], names[1:], strict=True), strict=False):
        if not hi > lo:
            problems.append(Problem(f"{hn} ({hi:g}) must be above {ln} ({lo:g})", field=hn))
    if problems:
        raise InvalidInput(problems)


def incident_rate(incidents: np.ndarray, households: np.ndarray) -> np.ndarray:
    """Incidents per 1,000 households (NaN where there are no households).

    >>> incident_rate(np.array([3, 0, 2]), np.array([100, 50, 0])).tolist()
    [30.0, 0.0, nan]
    """
    incidents = np.asarray(incidents, dtype=float)
    households = np.asarray(households, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(households > 0, incidents * 1000.0 / households, np.nan)


def risk_levels(rate: np.ndarray, red: float, orange: float) -> list[str]:
    """``red`` / ``orange`` / ``green`` per rate (boundaries included upwards), ``none`` for NaN.

    >>> risk_levels(np.array([60.0, 59.9, 30.0, 0.0, np.nan]), red=60, orange=30)
    ['red', 'orange', 'orange', 'green', 'none']
    """
    check_thresholds([red, orange], ["red", "orange"])
    rate = np.asarray(rate, dtype=float)
    out = np.where(rate >= red, "red", np.where(rate >= orange, "orange", "green")).astype(object)
    out[np.isnan(rate)] = "none"
    return out.tolist()


def floating_levels(floating: np.ndarray, registered: np.ndarray, red: float, orange: float,
                    yellow: float) -> list[str]:
    """Floating-population level from floating residents per registered resident.

    >>> floating_levels(np.array([10, 5, 2, 1, 3, 0]), np.array([10, 10, 10, 10, 0, 0]),
    ...                 red=1.0, orange=0.5, yellow=0.2)
    ['red', 'orange', 'yellow', 'blue', 'red', 'blue']
    """
    check_thresholds([red, orange, yellow], ["floating_red", "floating_orange", "floating_yellow"])
    floating = np.asarray(floating, dtype=float)
    registered = np.asarray(registered, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(registered > 0, floating / registered,
                         np.where(floating > 0, np.inf, 0.0))
    out = np.select([ratio >= red, ratio >= orange, ratio >= yellow],
                    ["red", "orange", "yellow"], "blue")
    return out.tolist()
