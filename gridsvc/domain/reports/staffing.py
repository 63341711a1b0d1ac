"""The staffing standard, per beat, grid, police office and station (pure pandas).

The standard (DESIGN.md, issue 5 item 2): one community officer per 1,000 households or 3,000
residents; every grid has at least one officer and two grid workers; every police office follows
the 1+1+N pattern (one officer, one auxiliary, N >= 1 volunteers).

Definitions chosen here
-----------------------
- **A beat's households and residents** are the sums over the houses assigned to it
  (``house.beat_id``). Houses in no beat are left out of the beat table and counted in the
  summary (``houses_outside_beats``), so a gap in the beat layer cannot hide people.
- **A beat's officers** are the distinct people with role ``officer`` linked to the beat
  (``person_area.kind == "beat"``). Officers linked only to grids do not count for a beat.
- **Officers required** is ``max(ceil(households / 1000), ceil(residents / 3000), 1)``: the
  stricter of the two ratios, and at least one officer even for an empty beat. The **shortfall**
  is ``max(required - officers, 0)``; a beat **meets** the standard when the shortfall is 0,
  which is the same as both ratios being within the standard with at least one officer.
  With no officer the per-officer ratios are undefined (NaN, ``null`` in JSON).
- **A grid's grid workers** are the distinct ``grid_worker`` people linked to it; it meets the
  standard with at least 2 grid workers and at least one officer linked **directly to the grid**
  (``kind == "grid"``); ``meets_workers`` and ``has_officer`` give the two halves.
- **A police office's staff** are the people whose ``office_id`` is the office: its officers and
  auxiliaries. Volunteers are linked to grids, not offices, so **the office's volunteers** are
  the distinct volunteers linked to any grid that one of the office's officers is linked to.
  An office meets 1+1+N with at least one officer, one auxiliary and one volunteer.
- **A station's totals** sum its beats (``beat.station_id``); its officers are the distinct
  officers of those beats (an officer of two beats counts once); its offices are those whose
  point lies in the station. The **officer share** is officers per 10,000 residents.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: One community officer per this many households ...
HOUSEHOLDS_PER_OFFICER = 1000
#: ... or per this many residents, whichever asks for more officers.
RESIDENTS_PER_OFFICER = 3000
#: Every grid needs at least this many grid workers.
MIN_GRID_WORKERS = 2
#: The officer share of a station is given per this many residents.
SHARE_PER = 10_000


def _distinct_count(people: pd.DataFrame, role: str, kind: str) -> pd.Series:
    """Distinct people of ``role`` linked to cells of ``kind``, per cell id."""
    linked = people[(people["role"] == role) & (people["kind"] == kind)]
    return linked.groupby("area_id")["id"].nunique()


def _sum_by(houses: pd.DataFrame, key: str) -> pd.DataFrame:
    assigned = houses[houses[key].notna()]
    return assigned.groupby(key)[["houses", "households", "residents"]].sum()


def _with_house_counts(houses: pd.DataFrame) -> pd.DataFrame:
    # Rows may be single houses or already summed per (beat, grid); ``houses`` tells which.
    out = houses.copy()
    if "houses" not in out:
        out["houses"] = 1
    for col in ("houses", "households", "residents"):
        out[col] = out[col].fillna(0).astype("int64")
    return out


def beat_table(houses: pd.DataFrame, people: pd.DataFrame, beats: pd.DataFrame) -> pd.DataFrame:
    """Per beat: households, residents, officers, the ratios, officers required, the shortfall.

    Parameters
    ----------
    houses
        Columns ``beat_id, households, residents`` (and ``houses`` when rows are pre-summed).
    people
        One row per link: ``id, role, kind, area_id``.
    beats
        Columns ``id, station_id``; every beat gets a row, houses or not.

    Returns
    -------
    DataFrame
        ``beat_id, station_id, houses, households, residents, officers, households_per_officer,
        residents_per_officer, officers_required, shortfall, meets``, ordered by ``beat_id``.
    """
    sums = _sum_by(_with_house_counts(houses), "beat_id")
    out = beats[["id", "station_id"]].rename(columns={"id": "beat_id"})
    out = out.join(sums, on="beat_id")
    out = out.join(_distinct_count(people, "officer", "beat").rename("officers"), on="beat_id")
    for col in ("houses", "households", "residents", "officers"):
        out[col] = out[col].fillna(0).astype("int64")
    officers = out["officers"].where(out["officers"] > 0)  # NaN: no ratio without an officer
    out["households_per_officer"] = out["households"] / officers
    out["residents_per_officer"] = out["residents"] / officers
    out["officers_required"] = np.maximum.reduce([
        np.ceil(out["households"] / HOUSEHOLDS_PER_OFFICER),
        np.ceil(out["residents"] / RESIDENTS_PER_OFFICER),
        np.ones(len(out)),
    ]).astype("int64")
    out["shortfall"] = (out["officers_required"] - out["officers"]).clip(lower=0)
    out["meets"] = out["shortfall"] == 0
    return out.sort_values("beat_id", kind="stable").reset_index(drop=True)


def grid_table(houses: pd.DataFrame, people: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Per grid: grid workers (at least 2), whether an officer is linked, households, residents.

    Returns
    -------
    DataFrame
        ``grid_id, houses, households, residents, grid_workers, officers, has_officer,
        meets_workers, meets``, ordered by ``grid_id``.
    """
    sums = _sum_by(_with_house_counts(houses), "grid_id")
    out = grids[["id"]].rename(columns={"id": "grid_id"}).join(sums, on="grid_id")
    out = out.join(_distinct_count(people, "grid_worker", "grid").rename("grid_workers"),
                   on="grid_id")
    out = out.join(_distinct_count(people, "officer", "grid").rename("officers"), on="grid_id")
    for col in ("houses", "households", "residents", "grid_workers", "officers"):
        out[col] = out[col].fillna(0).astype("int64")
    out["has_officer"] = out["officers"] > 0
    out["meets_workers"] = out["grid_workers"] >= MIN_GRID_WORKERS
    out["meets"] = out["has_officer"] & out["meets_workers"]
    return out.sort_values("grid_id", kind="stable").reset_index(drop=True)


def office_table(people: pd.DataFrame, offices: pd.DataFrame) -> pd.DataFrame:
    """Per police office: the 1+1+N pattern (officers, auxiliaries, volunteers).

    Returns
    -------
    DataFrame
        ``office_id, station_id, officers, auxiliaries, volunteers, meets``, by ``office_id``.
    """
    persons = people.drop_duplicates("id")
    staff = persons[persons["office_id"].notna()]
    by_role = staff.groupby(["office_id", "role"])["id"].nunique().unstack(fill_value=0)
    officer_grids = people[(people["role"] == "officer") & (people["kind"] == "grid")
                           & people["office_id"].notna()][["office_id", "area_id"]]
    volunteer_grids = people[(people["role"] == "volunteer") & (people["kind"] == "grid")][
        ["id", "area_id"]]
    volunteers = (officer_grids.merge(volunteer_grids, on="area_id")
                  .groupby("office_id")["id"].nunique().rename("volunteers"))
    out = offices[["id", "station_id"]].rename(columns={"id": "office_id"})
    for role, col in (("officer", "officers"), ("auxiliary", "auxiliaries")):
        counts = by_role[role] if role in by_role else pd.Series(dtype="int64")
        out = out.join(counts.rename(col), on="office_id")
    out = out.join(volunteers, on="office_id")
    for col in ("officers", "auxiliaries", "volunteers"):
        out[col] = out[col].fillna(0).astype("int64")
    out["meets"] = (out["officers"] >= 1) & (out["auxiliaries"] >= 1) & (out["volunteers"] >= 1)
    return out.sort_values("office_id", kind="stable").reset_index(drop=True)


def station_table(beat_rows: pd.DataFrame, people: pd.DataFrame, stations: pd.DataFrame,
                  office_rows: pd.DataFrame) -> pd.DataFrame:
    """Per station: totals over its beats and offices, and officers per 10,000 residents.

    Returns
    -------
    DataFrame
        ``station_id, beats, beats_meeting, offices, houses, households, residents, officers,
        officers_required, shortfall, officers_per_10k_residents``, by ``station_id``.
    """
    beats = beat_rows.groupby("station_id").agg(
        beats=("beat_id", "size"), beats_meeting=("meets", "sum"), houses=("houses", "sum"),
        households=("households", "sum"), residents=("residents", "sum"),
        officers_required=("officers_required", "sum"), shortfall=("shortfall", "sum"))
    links = people[(people["role"] == "officer") & (people["kind"] == "beat")]
    links = links.merge(beat_rows[["beat_id", "station_id"]], left_on="area_id",
                        right_on="beat_id")
    officers = links.groupby("station_id")["id"].nunique().rename("officers")
    offices = office_rows.groupby("station_id")["office_id"].size().rename("offices")
    out = stations[["id"]].rename(columns={"id": "station_id"})
    out = out.join(beats, on="station_id").join(officers, on="station_id")
    out = out.join(offices, on="station_id")
    cols = ("beats", "beats_meeting", "offices", "houses", "households", "residents", "officers",
            "officers_required", "shortfall")
    for col in cols:
        out[col] = out[col].fillna(0).astype("int64")
    out = out[["station_id", *cols]]
    out["officers_per_10k_residents"] = (
        out["officers"] * SHARE_PER / out["residents"].where(out["residents"] > 0))
    return out.sort_values("station_id", kind="stable").reset_index(drop=True)


def staffing(houses: pd.DataFrame, people: pd.DataFrame, beats: pd.DataFrame,
             grids: pd.DataFrame, offices: pd.DataFrame, stations: pd.DataFrame
             ) -> dict[str, pd.DataFrame]:
    """All four tables: ``{"beats", "grids", "offices", "stations"}`` (see the module notes).

    ``houses`` has ``beat_id, grid_id, households, residents`` (optionally ``houses``);
    ``people`` one row per link, ``id, role, kind, area_id, office_id`` (``kind`` and
    ``area_id`` NaN for a person with no link); ``beats`` ``id, station_id``; ``grids`` ``id``;
    ``offices`` ``id, station_id``; ``stations`` ``id``.
    """
    beat_rows = beat_table(houses, people, beats)
    office_rows = office_table(people, offices)
    return {
        "beats": beat_rows,
        "grids": grid_table(houses, people, grids),
        "offices": office_rows,
        "stations": station_table(beat_rows, people, stations, office_rows),
    }


def summary(tables: dict[str, pd.DataFrame], houses: pd.DataFrame) -> dict[str, Any]:
    """Headline numbers: totals, shortfall, and how many cells of each level fall short."""
    beats, grids, offices = tables["beats"], tables["grids"], tables["offices"]
    counted = _with_house_counts(houses)
    outside = counted[counted["beat_id"].isna()]
    return {
        "households": int(beats["households"].sum()),
        "residents": int(beats["residents"].sum()),
        "officers": int(tables["stations"]["officers"].sum()),
        "officers_required": int(beats["officers_required"].sum()),
        "shortfall": int(beats["shortfall"].sum()),
        "beats": len(beats),
        "beats_short": int((~beats["meets"]).sum()),
        "grids": len(grids),
        "grids_short_of_workers": int((~grids["meets_workers"]).sum()),
        "grids_without_officer": int((~grids["has_officer"]).sum()),
        "offices": len(offices),
        "offices_short": int((~offices["meets"]).sum()),
        "houses_outside_beats": int(outside["houses"].sum()),
        "households_outside_beats": int(outside["households"].sum()),
    }


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts: numpy scalars to Python, NaN to None, ratios to 2 decimals."""
    clean = frame.astype(object).where(frame.notna(), None)
    rows = clean.to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            row[key] = round(value, 2) if isinstance(value, float) else value
    return rows
