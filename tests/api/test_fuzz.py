"""Schemathesis against ``gridsvc serve`` on a private copy of the demo town, as admin and as
viewer: no server error, and every answer as the OpenAPI document says (status code, content
type, body schema), over every operation that ``/openapi.json`` lists (a route added later
joins by itself) and along its links (the stateful phase).

Bounded for ``make test`` (about a minute per role on two cores): a fixed seed, derandomized,
``FUZZ_EXAMPLES`` examples per operation. A deeper run by hand, with more examples and another
seed, e.g.::

    GRIDSVC_FUZZ_EXAMPLES=250 GRIDSVC_FUZZ_SEED=7 pytest tests/api/test_fuzz.py

(its output, and the server's log, go to ``test-artifacts/fuzz/``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.conftest import ARTIFACTS, start_serve

pytestmark = [pytest.mark.db, pytest.mark.slow]

FUZZ_EXAMPLES = int(os.environ.get("GRIDSVC_FUZZ_EXAMPLES", "25"))
FUZZ_SEED = int(os.environ.get("GRIDSVC_FUZZ_SEED", "20261205"))
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")
OUT = ARTIFACTS / "fuzz"


def schemathesis_command(url: str, token: str, examples: int, seed: int) -> list[str]:
    """The Schemathesis run: every phase (examples, coverage, fuzzing, stateful)."""
    exe = Path(sys.executable).parent / "schemathesis"
    return [str(exe), "run", f"{url}/openapi.json", "--no-color",
            "-H", f"Authorization: Bearer {token}",
            "--checks", ",".join(CHECKS),
            "--max-examples", str(examples), "--seed", str(seed),
            "--generation-deterministic",
            "--workers", "1", "--request-timeout", "60"]


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_fuzz_finds_nothing(role, demo_copy_url):
    from gridsvc.domain.accounts import Role
    from gridsvc.services.tokens import create_token

    eng = create_engine(demo_copy_url)
    token = create_token(eng, role=Role.parse(role), name=f"fuzz-{role}", actor="test-suite")
    eng.dispose()
    env = {**os.environ, "GRIDSVC_DATABASE_URL": demo_copy_url, "GRIDSVC_MAP_PREWARM": "false"}
    proc, url = start_serve(env)
    try:
        done = subprocess.run(schemathesis_command(url, token, FUZZ_EXAMPLES, FUZZ_SEED),
                              capture_output=True, text=True, timeout=900)
    finally:
        proc.terminate()
        server_log = proc.communicate(timeout=30)[0]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{role}.txt").write_text(done.stdout + done.stderr)
    (OUT / f"{role}-server.log").write_text(server_log)
    assert done.returncode == 0, (
        f"Schemathesis as {role} found failures (all of it in {OUT / f'{role}.txt'}):\n"
        + done.stdout[-6000:] + done.stderr[-2000:])
