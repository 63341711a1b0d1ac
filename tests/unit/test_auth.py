"""Unit tests of gridsvc.domain.accounts: roles and bearer tokens (no database)."""

from __future__ import annotations

import hashlib
import re

import pytest

from gridsvc.domain.accounts import Role
from gridsvc.domain.accounts.credentials import TOKEN_PREFIX, hash_token, new_token, token_prefix


def test_roles_are_ordered_by_power() -> None:
    assert Role.viewer < Role.dispatcher < Role.planner < Role.admin
    assert Role.planner >= Role.dispatcher
    assert not Role.viewer >= Role.dispatcher
    assert Role.admin >= Role.admin
    assert sorted([Role.admin, Role.viewer, Role.planner, Role.dispatcher]) == [
        Role.viewer, Role.dispatcher, Role.planner, Role.admin]
    assert [r.name for r in Role] == ["viewer", "reporter", "handler", "dispatcher", "planner",
                                      "admin"]


@pytest.mark.parametrize(("text", "role"), [
    ("viewer", Role.viewer),
    ("Viewer", Role.viewer),
    ("DISPATCHER", Role.dispatcher),
    ("  planner ", Role.planner),
    ("aDmIn", Role.admin),
])
def test_parse_is_case_insensitive(text: str, role: Role) -> None:
    assert Role.parse(text) is role


@pytest.mark.parametrize("text", ["superuser", "", "view", "1"])
def test_parse_unknown_role_lists_the_roles(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        Role.parse(text)
    message = str(exc.value)
    assert repr(text) in message
    assert "viewer, reporter, handler, dispatcher, planner, admin" in message


def test_new_token_shape() -> None:
    token = new_token()
    assert token.startswith(TOKEN_PREFIX)
    assert TOKEN_PREFIX == "gs_"
    assert len(token) == len(TOKEN_PREFIX) + 43
    assert re.fullmatch(r"gs_[A-Za-z0-9_-]{43}", token)


def test_new_tokens_are_unique() -> None:
    tokens = {new_token() for _ in range(500)}
    assert len(tokens) == 500


def test_hash_token_is_deterministic_hex_sha256() -> None:
    token = "gs_abcdef0123456789"
    digest = hash_token(token)
    assert digest == hash_token(token)
    assert len(digest) == 64
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hashlib.sha256(token.encode("utf-8")).hexdigest()
    assert token not in digest


def test_different_tokens_have_different_hashes() -> None:
    a, b = new_token(), new_token()
    assert hash_token(a) != hash_token(b)
    assert hash_token("gs_x") != hash_token("gs_X")
    assert hash_token("gs_x") != hash_token("gs_x ")


def test_hash_token_handles_non_ascii() -> None:
    assert len(hash_token("gs_网格")) == 64


def test_token_prefix() -> None:
    token = "gs_ABCDEFGHIJKLMNOP"
    assert token_prefix(token) == "gs_ABCDEF"
    assert len(token_prefix(new_token())) == len(TOKEN_PREFIX) + 6
    fresh = new_token()
    assert fresh.startswith(token_prefix(fresh))
    assert token_prefix("gs_ab") == "gs_ab"
