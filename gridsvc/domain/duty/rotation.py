"""Duty rotations: RFC 5545 recurrence rules expanded into duty intervals.

A police station runs on rotating duty groups (值班组). Each day one group holds **main duty**
(主班: 24 hours, takes every call), one **second duty** (副班: 08:00-17:00, helps) and one
**standby** (备勤: 08:00-22:00, inspects hotels and key places, registers temporary residents);
the next day they move on. Each group's share of that is a :class:`Rule`: a kind of duty, a start
in local wall time, an RFC 5545 ``RRULE`` (parsed by :func:`dateutil.rrule.rrulestr`, e.g.
``FREQ=DAILY;INTERVAL=3``), a wall-clock duration and the dates the rule is valid for (a changed
rotation is a new set of rules valid from a date; the old ones stop the day before).

Exceptions (:class:`Change`):

- ``swap``: on local day ``day`` groups ``group`` and ``other_group`` exchange every duty that
  starts that day (the pair of an ``EXDATE`` in one group's rule set and an ``RDATE`` in the
  other's: :func:`expand` hands each such occurrence over);
- ``leave``: ``person`` is off duty over ``[start, end)``; their intervals are cut there;
- ``substitute``: over ``[start, end)`` ``other_person`` stands in for ``person``: the person's
  intervals are cut there and the same pieces given to the substitute;
- ``extra``: a one-off duty of ``duty_kind`` for ``person`` over ``[start, end)``.

Times: rules are in local wall time of the station's zone (``Asia/Shanghai``: no daylight saving
since 1991); intervals are time-zone-aware and half-open, ``[start, end)``. Durations are wall
clock (a 24-hour main duty runs 08:00 to 08:00 even across a DST change in zones that have one),
so consecutive main duties always abut: at every instant exactly one group holds main duty when
the rules say so, which :func:`main_duty_problems` checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr

from gridsvc.errors import Problem

#: The kinds of duty, and their usual start and length (minutes) in the seed documents.
KINDS = ("main", "second", "standby")
USUAL = {"main": ("08:00", 24 * 60), "second": ("08:00", 9 * 60), "standby": ("08:00", 14 * 60)}
CHANGE_KINDS = ("swap", "leave", "substitute", "extra")
#: The longest duty a rule may have (minutes): a rule's occurrences are looked for this far back.
MAX_MINUTES = 48 * 60


@dataclass(frozen=True)
class Rule:
    """One group's recurring duty of one kind.

    Attributes
    ----------
    id
        The rule's id (named in the intervals' ``source``).
    group
        The duty group's id.
    kind
        ``main``, ``second`` or ``standby``.
    dtstart
        First start, naive local wall time (the RRULE's DTSTART).
    rrule
        The RFC 5545 RRULE value, e.g. ``FREQ=DAILY;INTERVAL=3``.
    minutes
        Duration in wall-clock minutes, 1 .. :data:`MAX_MINUTES`.
    valid_from, valid_until
        Only occurrences starting on a local date in ``[valid_from, valid_until)`` count
        (``valid_until`` None: open-ended).
    """

    id: int
    group: int
    kind: str
    dtstart: datetime
    rrule: str
    minutes: int
    valid_from: date
    valid_until: date | None = None


@dataclass(frozen=True)
class Change:
    """An exception to the rules (see the module docstring for each kind)."""

    id: int
    kind: str
    day: date | None = None
    group: int | None = None
    other_group: int | None = None
    person: int | None = None
    other_person: int | None = None
    duty_kind: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, order=True)
class Interval:
    """A stretch of duty: a group's (``person`` None) or one person's, ``[start, end)``.

    ``source`` says where it came from: ``rule:<id>``, ``swap:<id>``, ``substitute:<id>`` or
    ``extra:<id>``.
    """

    start: datetime
    end: datetime
    kind: str
    group: int | None
    person: int | None
    source: str

    def same_duty(self) -> tuple:
        """What identifies the duty regardless of where it came from."""
        return (self.end, self.kind, self.group, self.person)


def daily_rotation(groups: Sequence[int], anchor: date, kinds: Sequence[str] = KINDS,
                   usual: Mapping[str, tuple[str, int]] = USUAL) -> list[Rule]:
    """The usual rotation: ``groups`` take the ``kinds`` in turn, one step a day.

    On ``anchor`` the first group holds the first kind (main), the second group the second kind
    and so on; each day every group moves one kind on (main, then second, then standby, then
    main again for three groups). Rules have id 0 (not stored yet) and are valid from
    ``anchor``.

    >>> [(r.group, r.kind, r.dtstart.day) for r in daily_rotation([7, 8, 9],
    ...     date(2026, 1, 1))][:3]
    [(7, 'main', 1), (7, 'second', 2), (7, 'standby', 3)]
    """
    n = len(groups)
    out = []
    for g, group in enumerate(groups):
        for k, kind in enumerate(kinds[:n]):
            hh, mm = (int(x) for x in usual[kind][0].split(":"))
            day = anchor + timedelta(days=(k - g) % n)
            out.append(Rule(0, group, kind, datetime(day.year, day.month, day.day, hh, mm),
                            f"FREQ=DAILY;INTERVAL={n}", usual[kind][1], anchor))
    return out


def parse_rule(rule: Rule) -> rruleset:
    """The rule as a dateutil rule set (naive local times).

    Raises
    ------
    ValueError
        When the RRULE is not valid RFC 5545 (dateutil's message).
    """
    rset = rruleset()
    rset.rrule(rrulestr(rule.rrule, dtstart=rule.dtstart))
    return rset


def rule_problems(rule: Rule, where: str | None = None) -> list[Problem]:
    """What is wrong with a rule (empty when it can be expanded).

    >>> r = Rule(1, 1, "main", datetime(2026, 1, 1, 8), "FREQ=DAILY;INTERVAL=3", 1440,
    ...          date(2026, 1, 1))
    >>> rule_problems(r)
    []
    >>> [p.field for p in rule_problems(replace(r, rrule="FREQ=SOMETIMES", minutes=0))]
    ['rrule', 'minutes']
    """
    problems = []
    if rule.kind not in KINDS:
        problems.append(Problem(f"must be one of {', '.join(KINDS)}, got {rule.kind!r}",
                                where, "kind"))
    try:
        parse_rule(rule)
    except (ValueError, TypeError) as exc:
        problems.append(Problem(f"not an RFC 5545 RRULE: {exc}", where, "rrule"))
    if not 1 <= rule.minutes <= MAX_MINUTES:
        problems.append(Problem(f"must be 1 to {MAX_MINUTES} minutes, got {rule.minutes}",
                                where, "minutes"))
    if rule.valid_until is not None and rule.valid_until <= rule.valid_from:
        problems.append(Problem("must be after valid_from", where, "valid_until"))
    return problems


def _local(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt.astimezone(tz).replace(tzinfo=None)


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz)


def _occurrences(rules: Sequence[Rule], changes: Sequence[Change], tz: ZoneInfo,
                 start: datetime, end: datetime) -> list[Interval]:
    """Group-level intervals of the rules overlapping ``[start, end)``, swaps applied."""
    swaps: dict[tuple[date, int], tuple[int, int]] = {}
    for c in changes:
        if c.kind == "swap" and c.day is not None and c.group is not None \
                and c.other_group is not None:
            swaps[(c.day, c.group)] = (c.other_group, c.id)
            swaps[(c.day, c.other_group)] = (c.group, c.id)
    lo = _local(start, tz) - timedelta(minutes=MAX_MINUTES)
    hi = _local(end, tz)
    out = []
    for rule in rules:
        for occ in parse_rule(rule).between(lo, hi, inc=True):
            day = occ.date()
            if day < rule.valid_from or (rule.valid_until is not None
                                         and day >= rule.valid_until):
                continue
            group, source = rule.group, f"rule:{rule.id}"
            if (day, rule.group) in swaps:
                group, change_id = swaps[(day, rule.group)]
                source = f"swap:{change_id}"
            iv = Interval(_aware(occ, tz), _aware(occ + timedelta(minutes=rule.minutes), tz),
                          rule.kind, group, None, source)
            if iv.end > start and iv.start < end:
                out.append(iv)
    return out


def _minus(iv: Interval, start: datetime, end: datetime) -> list[Interval]:
    """The parts of ``iv`` outside ``[start, end)``."""
    if end <= iv.start or start >= iv.end:
        return [iv]
    parts = []
    if iv.start < start:
        parts.append(replace(iv, end=start))
    if end < iv.end:
        parts.append(replace(iv, start=end))
    return parts


def expand(rules: Sequence[Rule], changes: Sequence[Change],
           members: Mapping[int, Iterable[int]], zone: str, start: datetime,
           end: datetime) -> list[Interval]:
    """Every duty interval overlapping ``[start, end)``: the groups' and each member's.

    Parameters
    ----------
    rules
        The rules of one station (all versions: each counts only on its valid dates).
    changes
        Swaps, leave, substitutes and extra duties (see the module docstring).
    members
        Group id -> the person ids in it (the members now: past intervals are kept as they
        were materialised, so a member leaving a group changes only the future).
    zone
        IANA time zone of the rules' wall times, e.g. ``Asia/Shanghai``.
    start, end
        The window (time-zone-aware). Intervals overlapping it are returned whole, not clipped.

    Returns
    -------
    list of Interval
        Sorted; group-level intervals have ``person`` None.

    Examples
    --------
    Three groups rotating daily: on 2026-01-02 group 2 holds main duty from 08:00 to 08:00.

    >>> rules = [Rule(g, g, "main", datetime(2026, 1, g, 8), "FREQ=DAILY;INTERVAL=3", 1440,
    ...               date(2026, 1, 1)) for g in (1, 2, 3)]
    >>> tz = ZoneInfo("Asia/Shanghai")
    >>> ivs = expand(rules, [], {2: [20, 21]}, "Asia/Shanghai",
    ...              datetime(2026, 1, 2, 12, tzinfo=tz), datetime(2026, 1, 2, 13, tzinfo=tz))
    >>> [(iv.group, iv.person, iv.start.hour, iv.end.day) for iv in ivs]
    [(2, None, 8, 3), (2, 20, 8, 3), (2, 21, 8, 3)]
    """
    tz = ZoneInfo(zone)
    groups = _occurrences(rules, changes, tz, start, end)
    people: dict[int, list[Interval]] = defaultdict(list)
    for iv in groups:
        for person in members.get(iv.group, ()) if iv.group is not None else ():
            people[person].append(replace(iv, person=person))
    for c in changes:
        if c.kind not in ("leave", "substitute") or c.person is None or c.start is None \
                or c.end is None:
            continue
        kept, taken = [], []
        for iv in people.get(c.person, []):
            parts = _minus(iv, c.start, c.end)
            kept += parts
            if c.kind == "substitute" and c.other_person is not None:
                s, e = max(iv.start, c.start), min(iv.end, c.end)
                if s < e:
                    taken.append(replace(iv, start=s, end=e, person=c.other_person,
                                         source=f"substitute:{c.id}"))
        people[c.person] = kept
        if taken:
            people[c.other_person].extend(taken)  # type: ignore[index]
    for c in changes:
        if c.kind == "extra" and c.person is not None and c.start is not None \
                and c.end is not None and c.duty_kind in KINDS \
                and c.end > start and c.start < end:
            people[c.person].append(Interval(c.start, c.end, c.duty_kind, None, c.person,
                                             f"extra:{c.id}"))
    out = groups + [iv for ivs in people.values() for iv in ivs]
    return sorted(out, key=lambda iv: (iv.start, iv.kind, iv.group or 0, iv.person or 0))


def main_duty_problems(intervals: Iterable[Interval], start: datetime, end: datetime,
                       group_names: Mapping[int, str] | None = None) -> list[Problem]:
    """Gaps and overlaps of main duty within ``[start, end)``: at every instant exactly one
    group must hold it.

    >>> tz = ZoneInfo("Asia/Shanghai")
    >>> a = Interval(datetime(2026, 1, 1, 8, tzinfo=tz), datetime(2026, 1, 2, 8, tzinfo=tz),
    ...              "main", 1, None, "rule:1")
    >>> main_duty_problems([a], a.start, a.end)
    []
    >>> [p.message[:30] for p in main_duty_problems([a], a.start, a.end + timedelta(hours=1))]
    ['no group holds main duty from ']
    """
    names = group_names or {}
    mains = sorted(iv for iv in intervals
                   if iv.kind == "main" and iv.person is None and iv.end > start
                   and iv.start < end)
    problems = []
    at = start
    last: Interval | None = None
    for iv in mains:
        if iv.start > at:
            problems.append(Problem(f"no group holds main duty from {at.isoformat()} to "
                                    f"{iv.start.isoformat()}", field="rules"))
        elif iv.start < at and last is not None:
            problems.append(Problem(
                f"groups {names.get(last.group, last.group)} and "
                f"{names.get(iv.group, iv.group)} both hold main duty from "
                f"{iv.start.isoformat()} to {min(at, iv.end).isoformat()}", field="rules"))
        if iv.end > at:
            at, last = iv.end, iv
    if at < end:
        problems.append(Problem(f"no group holds main duty from {at.isoformat()} to "
                                f"{end.isoformat()}", field="rules"))
    return problems


@dataclass(frozen=True)
class Stored:
    """An interval already in the table, with its row id."""

    id: int
    interval: Interval


@dataclass
class Update:
    """What re-materialising changes: rows to delete, rows to end early, intervals to add."""

    delete: list[int]
    truncate: list[tuple[int, datetime]]
    insert: list[Interval]

    def __bool__(self) -> bool:
        return bool(self.delete or self.truncate or self.insert)


def reconcile(existing: Iterable[Stored], fresh: Iterable[Interval], cut: datetime) -> Update:
    """Re-materialise from ``cut`` on, keeping the past as it was.

    ``existing`` are the stored intervals ending after ``cut``; ``fresh`` the newly expanded
    ones. An existing interval that the fresh ones still contain (the same end, kind, group
    and person, starting no later) is kept as it is, so re-materialising unchanged rules writes
    nothing. Otherwise it is deleted when it starts at or after ``cut``, or ended at ``cut``
    when it started before (the part before ``cut`` happened and stays). Fresh intervals not
    kept are inserted, starting no earlier than ``cut``.

    >>> tz = ZoneInfo("Asia/Shanghai")
    >>> t = lambda d, h: datetime(2026, 1, d, h, tzinfo=tz)
    >>> old = Stored(7, Interval(t(1, 8), t(2, 8), "main", 1, None, "rule:1"))
    >>> new = Interval(t(1, 8), t(2, 8), "main", 2, None, "swap:3")
    >>> u = reconcile([old], [new], t(1, 20))
    >>> u.delete, [(i, e.hour) for i, e in u.truncate]
    ([], [(7, 20)])
    >>> [(iv.group, iv.start.hour) for iv in u.insert]
    [(2, 20)]
    >>> bool(reconcile([old], [old.interval], t(1, 20)))
    False
    """
    pending: dict[tuple, list[Interval]] = defaultdict(list)
    for iv in fresh:
        if iv.end > cut:
            pending[iv.same_duty()].append(iv)
    update = Update([], [], [])
    for stored in existing:
        old = stored.interval
        candidates = pending.get(old.same_duty(), [])
        # The same duty, or its tail kept from an earlier re-materialisation at or before cut.
        match = next((f for f in candidates
                      if f.start == old.start or f.start < old.start <= cut), None)
        if match is not None:
            candidates.remove(match)
        elif old.start >= cut:
            update.delete.append(stored.id)
        else:
            update.truncate.append((stored.id, cut))
    for ivs in pending.values():
        update.insert += [replace(iv, start=max(iv.start, cut)) for iv in ivs]
    update.insert.sort(key=lambda iv: (iv.start, iv.kind, iv.group or 0, iv.person or 0))
    return update
