"""The OpenAPI document, generated from the code that serves the API.

Each API route declares its operation where it is defined, with `@operation(...)`: summary,
parameters, request body, responses, tags and examples (`method=` when one function serves several
methods). `document(app)` walks the app's URL map: every rule under /api/v1 (and the OGC API under
/ogc) becomes a path, its path parameters and their types come from the rule's converters, its
methods from the rule, its operationId from the endpoint's name; the operations are assembled with
apispec, with the schemas features and plugins register (`register_schemas`, the `openapi_paths`
hook) and the security schemes. One source of truth: a route without a declared operation makes
tests/api/test_openapi.py fail, naming it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from flask import Flask
from werkzeug.routing import FloatConverter, IntegerConverter, PathConverter

DOCUMENTED_PREFIXES = ("/api/v1", "/ogc")
ATTRIBUTE = "__openapi__"
ERROR = {"$ref": "#/components/responses/Error"}
# Pieces that operations share. Path parameters need no declaration unless they say more than
# their converter does (document() adds them from the URL rule).
SLUG_PARAMETER = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The page's title with spaces as underscores.",
}
PAGING_PARAMETERS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string"},
        "description": "next_cursor from the previous response.",
    },
]
REPORT_FEATURE = {
    "description": "A report as a GeoJSON Feature",
    "content": {
        "application/geo+json": {"schema": {"$ref": "#/components/schemas/ReportFeature"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/ReportFeature"}},
    },
}
REASON_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["reason"],
                "properties": {
                    "reason": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 500,
                        "description": "kept in the report's history",
                    }
                },
            }
        }
    },
}


def json_response(schema: str, description: str = "OK") -> dict[str, Any]:
    """A JSON response whose body is the component schema `schema` (e.g. "Page")."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_SCHEMAS: dict[str, Any] = {}
_CONVERTER_TYPES = {"int": {"type": "integer"}, "float": {"type": "number"}, "path": {"type": "string"}}


def operation(method: str = "*", **spec: Any) -> Callable:
    """Declare the OpenAPI operation of the route below (`method`: which of its methods, when one
    function serves several). Keys as in OpenAPI: summary, description, parameters, requestBody,
    responses (status codes may be ints), tags, security, operationId."""

    def mark(view: Callable) -> Callable:
        declared = dict(getattr(view, ATTRIBUTE, {}))
        declared[method.lower()] = spec
        setattr(view, ATTRIBUTE, declared)
        return view

    return mark


def register_schemas(schemas: dict[str, Any]) -> None:
    """Add schemas to components/schemas (called at import time by the feature declaring them)."""
    _SCHEMAS.update(schemas)


def declared_operation(view: Callable, method: str) -> dict[str, Any] | None:
    declared = getattr(view, ATTRIBUTE, None) or {}
    return declared.get(method.lower()) or declared.get("*")


def openapi_path(rule: str) -> str:
    """/api/v1/reports/<int:report_id> -> /api/v1/reports/{report_id}"""
    return re.sub(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>", r"{\1}", rule)


def _converter_kind(converter) -> str | None:
    """By class, so that the app's own converters (IdConverter for <int:...>) count as theirs."""
    for base, kind in ((IntegerConverter, "int"), (FloatConverter, "float"), (PathConverter, "path")):
        if isinstance(converter, base):
            return kind
    return None


def _path_parameters(rule) -> list[dict[str, Any]]:
    parameters = []
    for name in sorted(rule.arguments, key=rule.rule.index):
        kind = _converter_kind(rule._converters[name])
        schema = dict(_CONVERTER_TYPES.get(kind, {"type": "string"}))
        if kind == "int":
            schema["minimum"] = 0
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _tag(endpoint: str, view: Callable) -> str:
    module = getattr(view, "__module__", "") or ""
    parts = module.split(".")
    if parts[:2] == ["wiki", "api"]:
        return parts[2] if len(parts) > 2 else "api"
    if parts[0] == "plugins":
        return parts[1] if len(parts) > 1 else endpoint.split(".")[0]
    return parts[1] if len(parts) > 1 else endpoint.split(".")[0]


def undocumented_routes(app: Flask) -> list[str]:
    """'METHOD /path' of every API route without a declared operation."""
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(DOCUMENTED_PREFIXES):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if declared_operation(view, method) is None:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    return missing


def _operation(rule, view: Callable, method: str, spec: dict[str, Any]) -> dict[str, Any]:
    op = copy.deepcopy(spec)
    op["operationId"] = op.get("operationId") or rule.endpoint.replace(".", "_") + (
        "" if len(set(rule.methods or ()) - {"HEAD", "OPTIONS"}) == 1 else "_" + method.lower()
    )
    op.setdefault("tags", [_tag(rule.endpoint, view)])
    declared = op.get("parameters", [])
    said = {p["name"]: p for p in declared if p.get("in") == "path"}  # a declaration says more
    path_parameters = [said.get(p["name"], p) for p in _path_parameters(rule)]
    op["parameters"] = path_parameters + [p for p in declared if p.get("in") != "path"]
    if not op["parameters"]:
        op.pop("parameters")
    op["responses"] = {str(status): response for status, response in op.get("responses", {}).items()}
    if view.__doc__ and "description" not in op:
        op["description"] = " ".join(view.__doc__.split())
    return op


def document(app: Flask, base_url: str, plugin_parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`'s API, with `base_url` as its server."""
    spec = APISpec(
        title="crisiswiki API",
        version="1",
        openapi_version="3.1.0",
        info={
            "description": "Crisis pages, field reports (GeoJSON), layers, search, alert subscriptions, "
            "exports and the OGC API - Features. Errors are "
            '{"error": {"code", "message", "field"}}. Authenticate scripts with '
            "Authorization: Bearer <token> (create one under Account → API tokens).",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        servers=[{"url": base_url.rstrip("/") or "/", "description": "this site"}],
        security=[{}, {"bearer": []}, {"session": []}],
    )
    schemas = dict(_SCHEMAS)
    extra_parameters: dict[str, dict[str, list]] = {}
    for part in plugin_parts:
        schemas.update(part.get("schemas", {}))
        for path, methods in part.get("parameters", {}).items():
            for method, parameters in methods.items():
                extra_parameters.setdefault(path, {}).setdefault(method, []).extend(parameters)
    for name in sorted(schemas):
        spec.components.schema(name, copy.deepcopy(schemas[name]))
    spec.components.response(
        "Error",
        {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    spec.components.security_scheme(
        "basic", {"type": "http", "scheme": "basic", "description": "an API token as the password (OpenRosa)"}
    )
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(DOCUMENTED_PREFIXES):
            continue
        view = app.view_functions[rule.endpoint]
        path = openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            declared = declared_operation(view, method)
            if declared is None:
                continue
            op = _operation(rule, view, method, declared)
            added = extra_parameters.get(path, {}).get(method.lower(), [])
            if added:
                op["parameters"] = [*op.get("parameters", []), *copy.deepcopy(added)]
            paths.setdefault(path, {})[method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
