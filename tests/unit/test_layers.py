"""The layers of docs/architecture.md hold: each package imports only what it may.

Imports are read from the source with ``ast`` (function-level imports included), so a lazy
import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gridsvc"

#: Package -> the gridsvc packages (or single modules) it may import. Keep in step with
#: docs/architecture.md ("Layers").
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain", "errors"},
    "maps": {"maps", "domain", "errors"},
    # Printed products (PDF/HTML drawing), beside the map pages: pure drawing of gathered data.
    "printing": {"printing", "domain", "errors"},
    "db": {"db", "domain", "errors", "settings"},
    "services": {"services", "db", "domain", "maps", "printing", "errors", "settings"},
    # The app and the commands are where the parts are wired together: the engine factories,
    # the embedded cluster, migrations, the account binding of row-level security, and the
    # driver errors that mean the database is away (mapped to 503).
    "api": {"api", "services", "domain", "maps", "printing", "errors", "settings",
            "db.engine", "db.rls", "db.outage"},
    "cli": {"cli", "api", "services", "domain", "printing", "errors", "settings", "db.engine",
            "db.embedded", "db.migrate"},
}
#: Libraries of the outer layers that the pure domain must not import.
NOT_IN_DOMAIN = {"sqlalchemy", "geoalchemy2", "psycopg", "alembic", "fastapi", "starlette",
                 "uvicorn", "typer", "rich", "folium"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every import in a file, relative ones made absolute."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _allowed(layer: str, name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "gridsvc":
        return not (layer == "domain" and parts[0] in NOT_IN_DOMAIN)
    if parts[1].startswith("__"):  # the package's own attributes (__version__)
        return True
    rules = ALLOWED[layer]
    return parts[1] in rules or ".".join(parts[1:3]) in rules


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for line, name in _imports(path):
            if not _allowed(layer, name):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert not wrong, f"{layer}/ may import only {sorted(ALLOWED[layer])}:\n" + "\n".join(wrong)


def test_sql_is_written_only_in_db() -> None:
    """SQL only in ``db/``: no other package builds a statement from text."""
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
             for layer in sorted(set(ALLOWED) - {"db"})
             for path in sorted((PACKAGE / layer).rglob("*.py"))
             for line, name in _imports(path)
             if name in ("sqlalchemy.text", "sqlalchemy.sql.text",
                         "sqlalchemy.sql.expression.text")]
    assert not wrong, "SQL belongs in gridsvc/db/:\n" + "\n".join(wrong)


def test_the_rules_cover_every_package() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)
