"""The schema: migrations up, down and up again, no drift from the models, append-only audit."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from gridsvc.db import migrate
from gridsvc.db.models import Base
from gridsvc.db.partitions import include_object, is_partition
from gridsvc.services.database import head_revision

#: Every table of the models (each capability's module adds its own; partitions are not listed).
TABLES = set(Base.metadata.tables)
GEOMETRY_TABLES = {"area", "office", "compound", "house", "incident", "patrol_point", "camera",
                   "road", "compound_entrance", "patrol_check_in", "event", "house_visit"}


def _tables(engine) -> set[str]:
    """The tables of the database, without the partitions of ``incident``."""
    return {t for t in inspect(engine).get_table_names() if not is_partition(t)} - {
        "spatial_ref_sys", "alembic_version"}


def test_upgrade_on_empty_database_makes_every_table(scratch_url):
    engine = create_engine(scratch_url)
    assert _tables(engine) == set()
    migrate.upgrade(engine)
    assert _tables(engine) == TABLES
    assert migrate.current_revision(engine) == head_revision()
    engine.dispose()


def test_every_geometry_has_a_gist_index_and_srid_4490(scratch_engine):
    with scratch_engine.connect() as conn:
        gist = dict(conn.execute(text(
            "SELECT tablename, substring(indexdef from 'USING gist \\((.*geom)\\)') "
            "FROM pg_indexes WHERE indexdef ~ 'USING gist \\(.*geom\\)'")).all())
        srids = dict(conn.execute(text(
            "SELECT f_table_name, srid FROM geometry_columns")).all())
    # area's index includes the plan, so a plan's cells cost the same however many plans exist.
    assert {t: c for t, c in gist.items() if not is_partition(t)} == {
        t: "plan_id, kind, geom" if t == "area" else "geom" for t in GEOMETRY_TABLES}
    assert {t: s for t, s in srids.items() if not is_partition(t)} == dict.fromkeys(
        GEOMETRY_TABLES, 4490)


def test_downgrade_and_upgrade_round_trip(scratch_engine):
    migrate.downgrade(scratch_engine, "base")
    assert _tables(scratch_engine) == set()
    assert migrate.current_revision(scratch_engine) is None
    migrate.upgrade(scratch_engine)
    assert _tables(scratch_engine) == TABLES


def _drift(engine, metadata) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_object": include_object,
            "compare_type": True, "compare_server_default": True,
        })
        return compare_metadata(ctx, metadata)


def test_autogenerate_reports_no_drift(scratch_engine):
    assert _drift(scratch_engine, Base.metadata) == []


def test_drift_check_sees_a_model_change(scratch_engine):
    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["house"].append_column(Column("storeys", Integer))
    diff = _drift(scratch_engine, changed)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "storeys")]


def test_audit_log_is_append_only(scratch_engine):
    with scratch_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (actor, action, object_kind) "
                          "VALUES ('t', 'test', 'x')"))
    for statement in ("UPDATE audit_log SET actor = 'someone else'",
                      "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), scratch_engine.begin() as conn:
            conn.execute(text(statement))
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["t"]
