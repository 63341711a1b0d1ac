"""The demo town's accounts: one per person, plus the offices that have no person row (pure).

Every demo account has the one shared password :data:`DEMO_PASSWORD` (README, ``make run``):
the demo is for trying each kind of user, not for keeping secrets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gridsvc.domain.accounts.roles import Role

#: The shared password of every demo account.
DEMO_PASSWORD = "gridsvc-demo"
#: The account role of each kind of person.
PERSON_ROLES = {"grid_worker": Role.reporter, "volunteer": Role.reporter,
                "officer": Role.handler, "auxiliary": Role.handler}


@dataclass(frozen=True)
class DemoAccount:
    """An account to make: name, display name, role, the person's business id (if any) and
    the scope rows ``(kind, area_id)``."""

    username: str
    display_name: str
    role: Role
    person_id: str | None
    scope: tuple[tuple[str, str], ...]


def person_account(person_id: str, name: str, person_role: str,
                   links: Iterable[tuple[str, str]]) -> DemoAccount:
    """The account of a demo person: named by their business id in lower case, role from
    :data:`PERSON_ROLES`, scope the cells they are linked to (a grid worker's grids; an
    officer's beat and the grids whose main beat it is; an auxiliary's beat).

    >>> person_account("GW001", "王芳", "grid_worker", [("grid", "G1")]).scope
    (('grid', 'G1'),)
    >>> person_account("OFF01", "李", "officer", [("grid", "G1"), ("beat", "B1")]).role.name
    'handler'
    """
    return DemoAccount(person_id.lower(), name, PERSON_ROLES[person_role], person_id,
                       tuple(sorted(set(links))))


def office_accounts(stations: Iterable[tuple[str, str]]) -> list[DemoAccount]:
    """Accounts without a person: a station leader per station (``leader-s01``, scope the
    station), the command centre (``command``), a planner and an admin (scope everything).

    >>> [a.username for a in office_accounts([("S01", "八都派出所")])]
    ['leader-s01', 'command', 'planner', 'admin']
    """
    made = [DemoAccount(f"leader-{sid.lower()}", f"{name} 所长", Role.dispatcher, None,
                        (("station", sid),)) for sid, name in stations]
    made += [DemoAccount("command", "指挥中心", Role.dispatcher, None, (("all", ""),)),
             DemoAccount("planner", "规划员", Role.planner, None, (("all", ""),)),
             DemoAccount("admin", "管理员", Role.admin, None, (("all", ""),))]
    return made
