"""Domain errors. They carry no HTTP: ``gridsvc.api.errors`` maps them to status codes and the
CLI maps :class:`InvalidInput` to exit code 2."""

from __future__ import annotations

from dataclasses import dataclass, field


class GridsvcError(Exception):
    """Base of every error gridsvc raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what is wrong.

    Attributes
    ----------
    message
        What is wrong, in words a user can act on.
    feature
        The feature or row, e.g. ``"feature 3 (id 'G07')"`` or ``"row 12"``; None when the
        problem is with the whole input.
    field
        The field or column, e.g. ``"geometry"`` or ``"id"``; None when not about one field.
    """

    message: str
    feature: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        field_part = f"field '{self.field}'" if self.field else None
        where = ", ".join(p for p in (self.feature, field_part) if p)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class InvalidInput(GridsvcError):
    """The input cannot be used; nothing was written.

    ``problems`` lists every problem found (not just the first), so a user fixes a file once.
    """

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{len(self.problems)} problem(s) in the input"
        return head + "".join(f"\n- {p}" for p in self.problems[:50]) + (
            f"\n- ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        )


class NotFound(GridsvcError):
    """The object asked for does not exist."""


class Conflict(GridsvcError):
    """The change clashes with the current state (a duplicate id, a stale version)."""


class DatabaseUnavailable(GridsvcError):
    """The database cannot be reached or started; the message says what to do."""


class MissingDependency(GridsvcError):
    """Something the machine must provide is missing (e.g. a CJK font); the message says what
    to install."""
