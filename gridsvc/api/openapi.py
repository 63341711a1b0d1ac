"""The OpenAPI document, finished so that it tells the truth about every operation.

FastAPI writes the parameters, bodies and successful responses from the routes;
:func:`finish` then adds what every route shares, in one place, so routes added later get it
too: the one error shape (:data:`gridsvc.api.errors.ERROR_SCHEMA`) instead of FastAPI's
``HTTPValidationError``.
"""

from __future__ import annotations

from typing import Any

from gridsvc.api.errors import ERROR_SCHEMA, PROBLEM_SCHEMA

ERROR_REF = "#/components/schemas/Error"
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    """Finish FastAPI's OpenAPI document ``schema`` in place and return it."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["Error"] = ERROR_SCHEMA
    for operation in _operations(schema):
        for response in operation.get("responses", {}).values():
            for content in response.get("content", {}).values():
                if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    content["schema"] = {"$ref": ERROR_REF}
    return schema


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    methods = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    return [op for item in schema.get("paths", {}).values()
            for method, op in item.items() if method in methods]
