"""Accounts: signing in and out, checking bearer secrets, and managing accounts.

Every function here takes the **owner** engine (the credential store: the app role cannot
read password or session hashes). Every sign-in, failure, lock, password change and
revocation is written to the audit log (object kind ``account``, which
``gridsvc_data_version()`` leaves out, so signing in does not invalidate the caches of data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from gridsvc.db import accounts as repo
from gridsvc.db import audit
from gridsvc.db import tokens as token_repo
from gridsvc.domain.accounts import signin
from gridsvc.domain.accounts.credentials import (
    SESSION_PREFIX,
    hash_password,
    hash_token,
    needs_rehash,
    new_session_token,
    password_problem,
    verify_password,
)
from gridsvc.domain.accounts.principal import Principal
from gridsvc.domain.accounts.roles import Role
from gridsvc.domain.accounts.scope import CELL_KINDS, Scope
from gridsvc.errors import Conflict, InvalidInput, NotFound, Problem


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: a principal and a session token, or a refusal with
    the seconds to wait before answering it and, when the account is locked, until when."""

    principal: Principal | None = None
    session_token: str | None = None
    delay_s: float = 0.0
    locked_until: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _principal(conn: Connection, account_id: int, *, role_cap: Role | None, name: str | None,
               via: str, session_id: int | None = None) -> Principal | None:
    """The principal of an account (None when it is disabled or gone)."""
    found = repo.by_id(conn, account_id)
    if found is None or found["disabled"]:
        return None
    role = Role.parse(found["role"])
    if role_cap is not None:
        role = min(role, role_cap)
    return Principal(name=name or found["username"], role=role, account_id=account_id,
                     username=found["username"], display_name=found["display_name"],
                     person_pk=found["person_pk"], person_id=found["person_id"],
                     scope=Scope.of(repo.scope_rows(conn, account_id)), via=via,
                     session_id=session_id)


def authenticate(engine: Engine, secret: str) -> Principal | None:
    """The principal of a bearer secret: a session token (the browser's cookie), a personal
    token or a service token. None when it is unknown, revoked, expired, or its account is
    disabled."""
    with engine.connect() as conn:
        if secret.startswith(SESSION_PREFIX):
            session = repo.find_session(conn, hash_token(secret))
            if session is None:
                return None
            cap = Role.parse(session["token_role"]) if session["token_role"] else None
            return _principal(conn, session["account_id"], role_cap=cap, name=None,
                              via="session", session_id=session["id"])
        token = token_repo.find_active(conn, hash_token(secret))
        if token is None:
            return None
        personal = token["kind"] == "personal"
        return _principal(conn, int(token["account_id"]), role_cap=Role.parse(str(token["role"])),
                          name=None if personal else str(token["name"]),
                          via="personal_token" if personal else "service_token")


def _open_session(conn: Connection, account_id: int, api_token_id: int | None) -> tuple[str, int]:
    token = new_session_token()
    session_id = repo.insert_session(conn, account_id=account_id, token_hash=hash_token(token),
                                     expires_at=signin.session_expiry(_now()),
                                     api_token_id=api_token_id)
    return token, session_id


def sign_in(engine: Engine, username: str, password: str, *, client: str = "") -> SignIn:
    """Check a name and password; on success open a browser session.

    Failures are counted per account and answered more slowly each time
    (:func:`gridsvc.domain.accounts.signin.failure_delay`; the caller waits ``delay_s``); the
    fifth in a row locks the account for 15 minutes, during which even the right password is
    refused. An unknown name costs the same password check, so the time does not tell names
    apart. Each attempt is audited (``account.signin``, ``account.signin_failed``,
    ``account.lock``) with the client's address.
    """
    username = username.strip().lower()
    now = _now()
    with engine.begin() as conn:
        found = repo.by_username(conn, username, lock=True) if username else None
        note = {"client": client}
        if found is None or found["disabled"] or found["kind"] != "person":
            verify_password(None, password)
            reason = "unknown" if found is None else "disabled"
            audit.record(conn, actor=username or "-", action="account.signin_failed",
                         object_kind="account", object_id=username or None,
                         after={**note, "reason": reason})
            return SignIn(delay_s=signin.failure_delay(1))
        if signin.is_locked(found["locked_until"], now):
            verify_password(None, password)
            audit.record(conn, actor=username, action="account.signin_failed",
                         object_kind="account", object_id=username,
                         after={**note, "reason": "locked",
                                "locked_until": found["locked_until"]})
            return SignIn(delay_s=signin.failure_delay(found["failed_signins"]),
                          locked_until=found["locked_until"])
        if not verify_password(found["password_hash"], password):
            failures = found["failed_signins"] + 1
            until = signin.lock_until(failures, now)
            repo.update_account(conn, found["id"], failed_signins=failures, locked_until=until)
            audit.record(conn, actor=username, action="account.signin_failed",
                         object_kind="account", object_id=username,
                         after={**note, "reason": "password", "failures": failures})
            if until is not None:
                audit.record(conn, actor=username, action="account.lock", object_kind="account",
                             object_id=username, after={"locked_until": until,
                                                        "failures": failures})
            return SignIn(delay_s=signin.failure_delay(failures), locked_until=until)
        changes: dict[str, Any] = {"failed_signins": 0, "locked_until": None,
                                   "last_signin_at": now}
        if needs_rehash(found["password_hash"]):
            changes["password_hash"] = hash_password(password)
        repo.update_account(conn, found["id"], **changes)
        token, session_id = _open_session(conn, found["id"], None)
        audit.record(conn, actor=username, action="account.signin", object_kind="account",
                     object_id=username, after={**note, "via": "password",
                                                "session_id": session_id})
        principal = _principal(conn, found["id"], role_cap=None, name=None, via="session",
                               session_id=session_id)
    return SignIn(principal=principal, session_token=token)


def sign_in_with_token(engine: Engine, token: str, *, client: str = "") -> SignIn:
    """Open a browser session from a personal or service token (the token sign-in of
    ``/login``); the session has the token's role and ends when the token is revoked."""
    with engine.begin() as conn:
        found = token_repo.find_active(conn, hash_token(token))
        owner = repo.by_id(conn, int(found["account_id"])) if found is not None else None
        if found is None or owner is None or owner["disabled"]:
            audit.record(conn, actor="-", action="account.signin_failed", object_kind="account",
                         after={"client": client, "reason": "token"})
            return SignIn(delay_s=signin.failure_delay(1))
        session, session_id = _open_session(conn, int(found["account_id"]), int(found["id"]))
        personal = found["kind"] == "personal"
        principal = _principal(conn, int(found["account_id"]),
                               role_cap=Role.parse(str(found["role"])),
                               name=None if personal else str(found["name"]), via="session",
                               session_id=session_id)
        assert principal is not None  # the account was checked above, in this transaction
        audit.record(conn, actor=principal.name, action="account.signin", object_kind="account",
                     object_id=principal.username,
                     after={"client": client, "via": "token", "token_id": found["id"],
                            "session_id": session_id})
    return SignIn(principal=principal, session_token=session)


def sign_out(engine: Engine, principal: Principal) -> None:
    """End the principal's browser session (audited as ``account.signout``)."""
    if principal.session_id is None:
        return
    with engine.begin() as conn:
        if repo.revoke_session(conn, principal.session_id):
            audit.record(conn, actor=principal.name, action="account.signout",
                         object_kind="account", object_id=principal.username,
                         after={"session_id": principal.session_id})


def _check_scope(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    problems = [Problem(f"unknown scope kind {k!r}; kinds are all, {', '.join(CELL_KINDS)}",
                        field="scope") for k, _ in rows if k != "all" and k not in CELL_KINDS]
    problems += [Problem(f"{k} needs a cell id, like {k}:ID", field="scope")
                 for k, a in rows if k in CELL_KINDS and not a]
    if problems:
        raise InvalidInput(problems)
    return [(k, "" if k == "all" else a) for k, a in rows]


def parse_scope(text: str) -> list[tuple[str, str]]:
    """Scope rows from text like ``grid:G1 beat:B2`` or ``all`` (commas or spaces).

    Raises
    ------
    InvalidInput
        An unknown kind or a cell kind without an id.
    """
    rows = []
    for part in text.replace(",", " ").split():
        kind, _, area_id = part.partition(":")
        rows.append((kind.strip().lower(), area_id.strip()))
    return _check_scope(rows)


def create_account(engine: Engine, *, username: str, display_name: str, role: Role,
                   password: str | None, person_id: str | None = None,
                   scope: list[tuple[str, str]] | None = None, actor: str) -> int:
    """Make an account; returns its id. A ``person_id`` links it to that person (and, with no
    ``scope`` given, its scope is the cells the person is linked to).

    Raises
    ------
    InvalidInput
        A bad name, password or scope, or an unknown person.
    Conflict
        The name is taken.
    """
    username = username.strip().lower()
    problems = []
    if not username or len(username) > 64 or not all(c.isalnum() or c in "-_." for c in username):
        problems.append(Problem("a name is 1-64 letters, digits, '-', '_' or '.'",
                                field="username"))
    if password is not None and (why := password_problem(password, username)):
        problems.append(Problem(why, field="password"))
    if problems:
        raise InvalidInput(problems)
    rows = _check_scope(scope or [])
    with engine.begin() as conn:
        if repo.existing_usernames(conn, [username]):
            raise Conflict(f"an account named {username!r} exists")
        person_pk = None
        if person_id:
            person_pk = repo.person_pks(conn, [person_id]).get(person_id)
            if person_pk is None:
                raise InvalidInput([Problem(f"no person with id {person_id!r}",
                                            field="person")])
            if scope is None:
                rows = repo.person_links(conn, person_pk)
        account_id = repo.insert_account(
            conn, username=username, display_name=display_name or username, role=role.name,
            person_pk=person_pk, password_hash=hash_password(password) if password else None,
            password_changed_at=_now() if password else None)
        repo.set_scope(conn, account_id, rows)
        audit.record(conn, actor=actor, action="account.create", object_kind="account",
                     object_id=username, after={"role": role.name, "person": person_id,
                                                "scope": [f"{k}:{a}" for k, a in rows]})
    return account_id


def _account(conn: Connection, username: str) -> dict[str, Any]:
    found = repo.by_username(conn, username.strip().lower(), lock=True)
    if found is None:
        raise NotFound(f"no account named {username!r}")
    return found


def list_accounts(engine: Engine) -> list[dict[str, Any]]:
    """Every account, by name (never a hash)."""
    with engine.connect() as conn:
        return repo.list_accounts(conn)


def set_disabled(engine: Engine, username: str, disabled: bool, *, actor: str) -> None:
    """Disable an account (its sessions and personal tokens are revoked, and the database
    shows it nothing at once) or enable it again."""
    with engine.begin() as conn:
        found = _account(conn, username)
        repo.update_account(conn, found["id"], disabled=disabled)
        revoked = {}
        if disabled:
            revoked = {"sessions": repo.revoke_sessions(conn, found["id"]),
                       "tokens": repo.revoke_tokens(conn, found["id"])}
        audit.record(conn, actor=actor, action="account.disable" if disabled else
                     "account.enable", object_kind="account", object_id=found["username"],
                     before={"disabled": found["disabled"]},
                     after={"disabled": disabled, **revoked})


def reset_password(engine: Engine, username: str, password: str, *, actor: str) -> None:
    """Set a new password (an admin's reset): clears the lock and ends every session.

    Raises
    ------
    InvalidInput
        A password too short or containing the name.
    NotFound
        No such account.
    """
    with engine.begin() as conn:
        found = _account(conn, username)
        if why := password_problem(password, found["username"]):
            raise InvalidInput([Problem(why, field="password")])
        repo.update_account(conn, found["id"], password_hash=hash_password(password),
                            password_changed_at=_now(), failed_signins=0, locked_until=None)
        ended = repo.revoke_sessions(conn, found["id"])
        audit.record(conn, actor=actor, action="account.password_reset", object_kind="account",
                     object_id=found["username"], after={"sessions_revoked": ended})


def change_password(engine: Engine, principal: Principal, old: str, new: str) -> None:
    """The signed-in person changes their own password; their other sessions end.

    Raises
    ------
    InvalidInput
        The old password is wrong (field ``old_password``), or the new one is refused.
    """
    with engine.begin() as conn:
        found = _account(conn, principal.username or "")
        if not verify_password(found["password_hash"], old):
            audit.record(conn, actor=principal.name, action="account.password_change_failed",
                         object_kind="account", object_id=found["username"])
            raise InvalidInput([Problem("the old password is wrong", field="old_password")])
        if why := password_problem(new, found["username"]):
            raise InvalidInput([Problem(why, field="new_password")])
        repo.update_account(conn, found["id"], password_hash=hash_password(new),
                            password_changed_at=_now())
        ended = repo.revoke_sessions(conn, found["id"], keep=principal.session_id)
        audit.record(conn, actor=principal.name, action="account.password_change",
                     object_kind="account", object_id=found["username"],
                     after={"sessions_revoked": ended})


def set_scope(engine: Engine, username: str, rows: list[tuple[str, str]], *, actor: str) -> None:
    """Replace an account's scope (takes effect in the database at once; in the API's
    in-memory paths within the token cache time)."""
    rows = _check_scope(rows)
    with engine.begin() as conn:
        found = _account(conn, username)
        before = repo.scope_rows(conn, found["id"])
        repo.set_scope(conn, found["id"], rows)
        audit.record(conn, actor=actor, action="account.scope", object_kind="account",
                     object_id=found["username"], before=[f"{k}:{a}" for k, a in before],
                     after=[f"{k}:{a}" for k, a in rows])


def account_view(engine: Engine, account_id: int) -> dict[str, Any]:
    """An account as shown to its owner: name, role, person, scope (no hash)."""
    with engine.connect() as conn:
        found = repo.by_id(conn, account_id)
        if found is None:
            raise NotFound(f"no account with id {account_id}")
        scope = repo.scope_rows(conn, account_id)
    keep = ("id", "username", "display_name", "role", "kind", "person_id", "last_signin_at",
            "password_changed_at")
    return {**{k: found[k] for k in keep},
            "scope": [{"kind": k, "id": a} for k, a in scope]}


def machine_account_id(engine: Engine) -> int:
    """The id of the machine account (service tokens; background work of the service that
    needs to see everything, such as warming the command centre's map)."""
    with engine.connect() as conn:
        return repo.machine_account_id(conn)
