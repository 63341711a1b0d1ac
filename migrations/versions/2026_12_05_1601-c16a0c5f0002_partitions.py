"""partitions: issue 16: incidents partitioned by month

Revision ID: c16a0c5f0002
Revises: c11a0c5f0001
Create Date: 2026-12-05 16:01:00+00:00

``incident`` becomes a table partitioned by range of ``occurred_at``, one partition per
calendar month (UTC), named ``incident_yYYYYmMM``, and a default partition for rows of a month
that has none yet. ``gridsvc_incident_month(at)`` makes the partition of the month of ``at``
(moving that month's rows out of the default partition): the insert path calls it for the
months of the rows it writes, so the default partition stays empty. A query on one month then
reads one partition (the planner prunes the others).

A partitioned table's primary key and unique constraints must hold the partition key:
``(pk, occurred_at)`` and ``(business_id, occurred_at)``. ``pk`` still comes from its sequence,
and business ids from ``next_business_id``, so both stay unique in practice.
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'c16a0c5f0002'
down_revision: str | None = 'c11a0c5f0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("pk, business_id, occurred_at, category, summary, geom, town_id, village_id, grid_id, "
           "station_id, beat_id, src_x, src_y, src_crs, cells_plan_id")
COLUMN_DDL = """
    pk bigint NOT NULL DEFAULT nextval('incident_pk_seq'::regclass),
    business_id varchar(64) NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    category varchar(64) NOT NULL,
    summary text,
    geom geometry(POINT, 4490) NOT NULL,
    town_id varchar(64),
    village_id varchar(64),
    grid_id varchar(64),
    station_id varchar(64),
    beat_id varchar(64),
    src_x double precision,
    src_y double precision,
    src_crs varchar(32),
    cells_plan_id integer"""
INDEXES = ("idx_incident_geom", "ix_incident_category", "ix_incident_occurred_at")

MONTH_FUNCTION = r"""
CREATE FUNCTION gridsvc_incident_month(at timestamp with time zone) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
    name text := 'incident_y' || to_char(lo, 'YYYY') || 'm' || to_char(lo, 'MM');
    lo_tz timestamp with time zone := lo AT TIME ZONE 'UTC';
    hi_tz timestamp with time zone := (lo + interval '1 month') AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    -- One creator at a time; the second finds the partition made.
    PERFORM pg_advisory_xact_lock(hashtext('gridsvc_incident_month'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE incident INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   name);
    EXECUTE format('WITH moved AS (DELETE FROM incident_default WHERE occurred_at >= %L '
                   'AND occurred_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
                   lo_tz, hi_tz, name);
    EXECUTE format('ALTER TABLE incident ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, lo_tz, hi_tz);
    RETURN name;
END $$
"""


def _rename(table: str, suffix_from: str, suffix_to: str) -> None:
    """Rename the table's constraints and indexes from ``*suffix_from`` to ``*suffix_to``."""
    for kind, name in (("CONSTRAINT", "pk_incident"), ("CONSTRAINT", "fk_incident_cells_plan_id_plan")):
        op.execute(f"ALTER TABLE {table} RENAME {kind} {name}{suffix_from} TO {name}{suffix_to}")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name}{suffix_from} RENAME TO {name}{suffix_to}")


def upgrade() -> None:
    op.execute("ALTER TABLE incident RENAME TO incident_old")
    op.execute("ALTER TABLE incident_old RENAME CONSTRAINT uq_incident_business_id "
               "TO uq_incident_business_id_old")
    _rename("incident_old", "", "_old")
    op.execute(f"""
        CREATE TABLE incident ({COLUMN_DDL},
            CONSTRAINT pk_incident PRIMARY KEY (pk, occurred_at),
            CONSTRAINT uq_incident_business_id_occurred_at UNIQUE (business_id, occurred_at),
            CONSTRAINT fk_incident_cells_plan_id_plan FOREIGN KEY (cells_plan_id)
                REFERENCES plan (id)
        ) PARTITION BY RANGE (occurred_at)""")
    op.execute("ALTER SEQUENCE incident_pk_seq OWNED BY incident.pk")
    op.execute("CREATE INDEX idx_incident_geom ON incident USING gist (geom)")
    op.execute("CREATE INDEX ix_incident_category ON incident (category)")
    op.execute("CREATE INDEX ix_incident_occurred_at ON incident (occurred_at)")
    op.execute("CREATE TABLE incident_default PARTITION OF incident DEFAULT")
    op.execute(MONTH_FUNCTION)
    op.execute("SELECT gridsvc_incident_month(m) FROM (SELECT DISTINCT date_trunc('month', "
               "occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM incident_old) months")
    op.execute(f"INSERT INTO incident ({COLUMNS}) SELECT {COLUMNS} FROM incident_old")
    op.execute("DROP TABLE incident_old")


def downgrade() -> None:
    op.execute("ALTER TABLE incident RENAME TO incident_partitioned")
    op.execute("ALTER TABLE incident_partitioned RENAME CONSTRAINT "
               "uq_incident_business_id_occurred_at TO uq_incident_partitioned")
    _rename("incident_partitioned", "", "_partitioned")
    op.execute(f"""
        CREATE TABLE incident ({COLUMN_DDL},
            CONSTRAINT pk_incident PRIMARY KEY (pk),
            CONSTRAINT uq_incident_business_id UNIQUE (business_id),
            CONSTRAINT fk_incident_cells_plan_id_plan FOREIGN KEY (cells_plan_id)
                REFERENCES plan (id)
        )""")
    op.execute("ALTER SEQUENCE incident_pk_seq OWNED BY incident.pk")
    op.execute("CREATE INDEX idx_incident_geom ON incident USING gist (geom)")
    op.execute("CREATE INDEX ix_incident_category ON incident (category)")
    op.execute("CREATE INDEX ix_incident_occurred_at ON incident (occurred_at)")
    op.execute(f"INSERT INTO incident ({COLUMNS}) SELECT {COLUMNS} FROM incident_partitioned")
    op.execute("DROP TABLE incident_partitioned")
    op.execute("DROP FUNCTION gridsvc_incident_month(timestamp with time zone)")
