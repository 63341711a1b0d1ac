"""The category catalogue (two levels) and the grades of an event.

The default catalogue follows the grid's daily work: disputes (矛盾纠纷) with their kinds, public
order hazards (治安隐患), fire hazards (消防隐患, found by the fire grid workers), work safety
(安全生产) and the rest (其他). An admin may edit it; these are the rows a new database starts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Grade(StrEnum):
    """How serious an event is (一般, 较大, 重大, 紧急), in increasing order.

    >>> Grade.parse("紧急") is Grade.urgent
    True
    >>> Grade.general < Grade.urgent
    True
    """

    general = "general"
    major = "major"
    serious = "serious"
    urgent = "urgent"

    @property
    def rank(self) -> int:
        return list(Grade).index(self)

    @property
    def chinese(self) -> str:
        return GRADE_NAMES[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Grade):
            return NotImplemented
        return self.rank < other.rank

    @classmethod
    def parse(cls, text: str) -> Grade:
        """A grade from its code or its Chinese name.

        Raises
        ------
        ValueError
            Naming the accepted grades.
        """
        key = text.strip()
        for grade in cls:
            if key in (grade.value, GRADE_NAMES[grade]):
                return grade
        accepted = ", ".join(f"{g.value} ({GRADE_NAMES[g]})" for g in cls)
        raise ValueError(f"unknown grade {text!r}; grades are {accepted}")


GRADE_NAMES = {Grade.general: "一般", Grade.major: "较大", Grade.serious: "重大",
               Grade.urgent: "紧急"}


@dataclass(frozen=True)
class Category:
    """One entry of the catalogue; ``parent_code`` is None for a top-level category."""

    code: str
    name: str
    parent_code: str | None = None
    description: str = ""


#: The catalogue a new database starts with.
DEFAULT_CATALOGUE: tuple[Category, ...] = (
    Category("dispute", "矛盾纠纷", None, "disputes between people, to be mediated"),
    Category("dispute.family", "婚姻家庭", "dispute"),
    Category("dispute.neighbour", "邻里", "dispute"),
    Category("dispute.land", "土地山林", "dispute"),
    Category("dispute.labour", "劳资", "dispute"),
    Category("dispute.property", "物业", "dispute"),
    Category("order", "治安隐患", None, "public order hazards"),
    Category("fire", "消防隐患", None, "fire hazards (fire grid workers)"),
    Category("safety", "安全生产", None, "work and production safety"),
    Category("other", "其他", None, "anything else"),
)


def top_level(code: str) -> str:
    """The top-level category of a code (codes are dotted: ``dispute.family``).

    >>> top_level("dispute.family")
    'dispute'
    >>> top_level("fire")
    'fire'
    """
    return code.split(".", 1)[0]
