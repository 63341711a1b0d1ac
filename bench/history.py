"""Cost independent of history (issue 11, item 9): a draft's map page, staffing report, fusion
report and impact preview on the demo town with 2, 100 and 1,000 plans stored.

Every plan keeps its own copy of its cells, so the ``area`` table grows with every draft and
retired plan. A query for one plan's cells must use an index that includes the plan (the GiST
index over ``(plan_id, kind, geom)``), or its cost grows with the number of plans stored.

The extra plans are copies of the demo plan's cells made in SQL (retired plans, as history
leaves them). Each figure is the best of ``--repeat`` runs with the map page cache cleared;
the ratio is the time against the time with 2 plans (flat: about 1.0).

    .venv/bin/python bench/history.py                 # 2, 100, 1,000 plans; about 2 minutes
    .venv/bin/python bench/history.py --plans 2 300   # the issue's 302-plan figure
    .venv/bin/python bench/history.py --explain       # also the plans of the queries
"""

from __future__ import annotations

import argparse
import time

from cluster import private_cluster  # bench/cluster.py (run as a script: bench/ is on the path)
from sqlalchemy import Engine, text

TARGET_MAP_S = 3.0
#: Two neighbouring grids of one village: the draft moves houses from the first to the second.
NEIGHBOURS = """
    SELECT a.business_id, b.business_id FROM area a JOIN area b
      ON b.plan_id = a.plan_id AND b.kind = a.kind AND b.parent_id = a.parent_id
     AND a.business_id < b.business_id AND ST_Relate(a.geom, b.geom, '****1****')
    WHERE a.plan_id = :p AND a.kind = 'grid'
      AND (SELECT count(*) FROM house h WHERE h.grid_id = a.business_id) > 40
    ORDER BY a.business_id, b.business_id LIMIT 1"""


def add_plans(engine: Engine, source: int, count: int) -> None:
    """Add ``count`` retired plans, each a copy of ``source``'s cells, in two statements."""
    if count <= 0:
        return
    with engine.begin() as conn:
        conn.execute(text("""
            WITH made AS (
                INSERT INTO plan (name, status, based_on_id, version, source, created_by)
                SELECT 'history ' || g, 'retired', :source, 1, 'bench', 'bench'
                FROM generate_series(1, :count) AS g RETURNING id)
            INSERT INTO area (plan_id, kind, business_id, code, name, parent_id, households,
                              residents, attrs, geom)
            SELECT m.id, a.kind, a.business_id, a.code, a.name, a.parent_id, a.households,
                   a.residents, a.attrs, a.geom
            FROM made m CROSS JOIN area a WHERE a.plan_id = :source"""),
            {"source": source, "count": count})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE plan; ANALYZE area"))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def explain(engine: Engine, draft: int) -> None:
    """Print the plans of the per-plan cell lookups (house -> cell of the draft)."""
    from gridsvc.db.staffing import cell_sql

    sql = f"SELECT count({cell_sql('grid', 'h')}) FROM house h"
    with engine.connect() as conn:
        rows = conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql),
                            {"plan": draft}).scalars().all()
    print("\n".join("    " + r for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, nargs="+", default=[2, 100, 1000],
                        help="plans stored at each step (ascending; at least 2)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    from gridsvc.db import migrate
    from gridsvc.db.engine import make_engine
    from gridsvc.services import fusion, plan_impact, plans, staffing
    from gridsvc.services import maps as maps_service
    from gridsvc.services.demo import load_demo
    from gridsvc.settings import MapSettings, Settings

    with private_cluster("gridsvc-bench-history-") as pg:
        pg.create_database("history")
        # The service's engine (its connection options: JIT off).
        engine = make_engine(Settings(database_url=pg.url("history")))
        migrate.upgrade(engine)
        load_demo(engine, Settings(database_url="x").demo_dir, actor="bench")
        active = plans.list_plans(engine)[0]["id"]
        draft = plans.create_draft(engine, name="bench draft", actor="bench")["id"]
        with engine.connect() as conn:
            a, b = conn.execute(text(NEIGHBOURS), {"p": draft}).one()
            moved = conn.execute(text("SELECT business_id FROM house WHERE grid_id = :g "
                                      "ORDER BY business_id LIMIT 20"), {"g": a}).scalars().all()
        plans.edit(engine, draft, {"op": "transfer", "from": a, "to": b, "houses": moved},
                   version=1, actor="bench")
        with engine.connect() as conn:
            houses = conn.execute(text("SELECT count(*) FROM house")).scalar_one()
            cells = conn.execute(text("SELECT count(*) FROM area WHERE plan_id = :p"),
                                 {"p": active}).scalar_one()
        print(f"demo town: {houses:,} houses, {cells} cells a plan; draft {draft} of plan "
              f"{active} moves {len(moved)} houses from grid {a} to {b}; best of "
              f"{args.repeat}\n")
        settings = MapSettings(prewarm=False)

        def map_page() -> None:
            maps_service._PAGES.clear()  # the page cache would answer the repeats
            maps_service.plan_page(engine, settings, draft)

        steps = {
            "map page": map_page,
            "staffing": lambda: staffing.staffing_report(engine, plan_id=draft),
            "fusion": lambda: fusion.fusion_report(engine, plan_id=draft),
            "impact": lambda: plan_impact.impact(engine, draft),
        }
        stored, first = 2, {}
        print(f"| plans stored | area rows | {' | '.join(f'{s} s' for s in steps)} | "
              f"{' | '.join(f'{s} ratio' for s in steps)} |")
        print("|---:|---:|" + "---:|" * (2 * len(steps)))
        for target in args.plans:
            add_plans(engine, active, target - stored)
            stored = max(stored, target)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT count(*) FROM area")).scalar_one()
            times = {name: best(fn, args.repeat) for name, fn in steps.items()}
            first = first or times
            print(f"| {stored:,} | {rows:,} | "
                  + " | ".join(f"{t:.2f}" for t in times.values()) + " | "
                  + " | ".join(f"{t / first[n]:.2f}x" for n, t in times.items()) + " |",
                  flush=True)
            if args.explain:
                explain(engine, draft)
        verdict = "met" if times["map page"] <= TARGET_MAP_S else "MISSED"
        print(f"\ndraft's map page with {stored:,} plans: {times['map page']:.2f} s "
              f"(target <= {TARGET_MAP_S:.0f} s: {verdict})")
        engine.dispose()


if __name__ == "__main__":
    main()
