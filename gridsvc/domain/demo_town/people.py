"""People linked to cells: community officers, auxiliaries, grid workers and volunteers (乡贤).

Only what the job needs is kept: a generated name, the role, a phone number in the clearly fake
range 1990000xxxx, and the ids of the office, beats and grids a person is linked to.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import names

N_OFFICERS = 8
N_AUXILIARIES = 6
N_GRID_WORKERS = 89
COLUMNS = ["id", "name", "role", "phone", "office_id", "beat_ids", "grid_ids"]


def person_names(n: int, rng: np.random.Generator) -> list[str]:
    """`n` distinct Chinese names: a common surname and one or two given-name characters."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        surname = names.SURNAMES[int(rng.integers(len(names.SURNAMES)))]
        size = 2 if rng.random() < 0.7 else 1
        given = "".join(
            names.GIVEN_CHARS[int(i)] for i in rng.integers(len(names.GIVEN_CHARS), size=size)
        )
        if surname + given not in seen:
            seen.add(surname + given)
            out.append(surname + given)
    return out


def make_people(
    beats: pd.DataFrame,
    grids: pd.DataFrame,
    villages: pd.DataFrame,
    office_of_beat: dict[str, str],
    nearest_office: dict[str, str],
    main_beat_of_grid: dict[str, str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The people table (see data/README.md for the columns).

    Parameters
    ----------
    beats, grids, villages : pandas.DataFrame
        Cell tables with at least id and households (grids also parent_id), in id order.
    office_of_beat : dict
        Beat id -> id of the office standing in that beat (beats without one are absent).
    nearest_office : dict
        Beat id -> id of the office nearest to it.
    main_beat_of_grid : dict
        Grid id -> the beat holding the largest share of its area.

    Notes
    -----
    Every beat gets one officer and the three busiest beats (households) a second one; an officer
    is linked to the grids whose main beat is theirs. Auxiliaries go to the beats by households,
    the busiest twice. Every grid has two grid workers and the busiest grids a third; every
    village has one volunteer, linked to its first grid.
    """
    busiest = beats.sort_values(["households", "id"], ascending=[False, True])["id"].tolist()
    officer_beats = sorted(busiest + busiest[: N_OFFICERS - len(busiest)])
    aux_beats = sorted(busiest + busiest[: N_AUXILIARIES - len(busiest)])
    by_households = grids.sort_values(["households", "id"], ascending=[False, True])["id"]
    extra = set(by_households.tolist()[: N_GRID_WORKERS - 2 * len(grids)])
    worker_grids = sorted([g for g in grids["id"] for _ in range(3 if g in extra else 2)])
    first_grid = grids.groupby("parent_id")["id"].min()
    rows = []
    for k, beat in enumerate(officer_beats):
        own = sorted(g for g, b in main_beat_of_grid.items() if b == beat)
        rows.append(("OFF", k, "officer", office_of_beat.get(beat, ""), beat, "|".join(own)))
    for k, beat in enumerate(aux_beats):
        office = office_of_beat.get(beat, nearest_office[beat])
        rows.append(("AUX", k, "auxiliary", office, beat, ""))
    for k, grid in enumerate(worker_grids):
        rows.append(("GW", k, "grid_worker", "", "", grid))
    for k, village in enumerate(villages["id"]):
        rows.append(("VOL", k, "volunteer", "", "", first_grid[village]))
    people_names = person_names(len(rows), rng)
    phones = rng.choice(10_000, len(rows), replace=False)
    records = []
    for (prefix, k, role, office, beat, grid_ids), name, phone in zip(
        rows, people_names, phones, strict=True
    ):
        width = 3 if prefix == "GW" else 2
        records.append(
            {
                "id": f"{prefix}{k + 1:0{width}d}",
                "name": name,
                "role": role,
                "phone": f"1990000{int(phone):04d}",
                "office_id": office,
                "beat_ids": beat,
                "grid_ids": grid_ids,
            }
        )
    return pd.DataFrame.from_records(records, columns=COLUMNS)
