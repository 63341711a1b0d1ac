"""print: issue 17: bulletins, contact cards, assessments

Revision ID: c17a0c5f0007
Revises: c15a0c5f0006
Create Date: 2026-12-05 16:06:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gridsvc.db import rls

revision: str = 'c17a0c5f0007'
down_revision: str | None = 'c15a0c5f0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The advice a new database starts with (an admin edits it: API PUT /api/v1/bulletins/advice/
#: {category}, CLI ``gridsvc report advice``).
SEED = {
    "盗窃": "出门随手关窗锁门，贵重物品不放车内；电动车停放在有监控的地方并加装防盗锁。",
    "诈骗": "凡是要求转账、汇款、提供验证码的电话和网络信息，先挂断再核实；可拨打96110咨询。",
    "纠纷": "邻里、家庭矛盾请先找网格员、村（居）调解委员会调解，切勿动手，避免事态升级。",
    "交通事故": "骑电动车请戴头盔，不酒驾、不超速、不闯红灯；夜间出行穿浅色衣服。",
    "火警": "不私拉乱接电线，电动车不进楼道充电；烧山、焚烧秸秆须远离房屋和山林。",
    "噪音扰民": "22时至次日6时请降低音量；装修施工请错开休息时间，相互体谅。",
    "求助": "遇到困难可拨打110或就近到警务室求助，网格员也会协助联系相关部门。",
    "其他": "发现可疑人员、可疑情况请及时拨打110或告知社区民警、网格员。",
}


def upgrade() -> None:
    """The advice table (seeded) and the solved-cases table."""
    advice = op.create_table(
        "prevention_advice",
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_prevention_advice")))
    op.bulk_insert(advice, [{"category": k, "advice": v, "updated_by": "migration c17a0c5f0007"}
                            for k, v in SEED.items()])
    op.create_table(
        "incident_solved",
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("solved_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_solved")))
    op.create_index(op.f("ix_incident_solved_solved_on"), "incident_solved", ["solved_on"])
    # Not scoped: the advice is the same text everywhere, and a solved mark only names an
    # incident id (the incident itself stays behind the incident table's policy).
    for table in ("prevention_advice", "incident_solved"):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {rls.APP_ROLE}")


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index(op.f("ix_incident_solved_solved_on"), table_name="incident_solved")
    op.drop_table("incident_solved")
    op.drop_table("prevention_advice")
