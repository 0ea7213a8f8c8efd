"""``GET /openapi.json`` and ``GET /docs`` (no key): the OpenAPI document, and a page listing it.

The page is rendered on the server from the same document, with no script and nothing fetched from
elsewhere, so it works on a machine with no internet access.
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, Flask, current_app, jsonify, render_template
from markupsafe import Markup, escape

from .openapi import build_document

bp = Blueprint("docs", __name__)
_METHOD_ORDER = ("get", "put", "post", "patch", "delete")


def document() -> dict:
    """The app's OpenAPI document, built on first use (every blueprint is registered by then)."""
    cached = current_app.extensions.get("moderation.openapi")
    if cached is None:
        cached = current_app.extensions["moderation.openapi"] = build_document(current_app)
    return cached


def paragraphs(text: str) -> list[Markup]:
    """Description text as escaped paragraphs, with `backticked` words as code."""
    return [Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(paragraph))))
            for paragraph in text.split("\n\n") if paragraph.strip()]


def _ref_name(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


def type_label(schema: dict | None) -> str:
    """A short type for a person: ``string``, ``array of Span``, ``integer | null``, ``object of number``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " | ".join(type_label(option) for option in schema[combinator])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array":
        return f"array of {type_label(schema.get('items'))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict) and not schema.get("properties"):
        return f"object of {type_label(schema['additionalProperties'])}"
    return kind


def _link(schema: dict | None) -> str | None:
    """The component schema a type points to, for a link: ``Span`` for both ``Span`` and ``array of Span``."""
    schema = schema or {}
    if schema.get("type") == "array":
        schema = schema.get("items") or {}
    return _ref_name(schema["$ref"]) if "$ref" in schema else None


def _constraints(schema: dict) -> str:
    names = ("minLength", "maxLength", "minimum", "maximum", "minProperties", "pattern", "default", "format")
    return ", ".join(f"{name} {json.dumps(schema[name])}" for name in names if name in schema)


def _fields(schema: dict) -> list[dict]:
    required = set(schema.get("required", ()))
    return [{"name": name, "type": type_label(field), "required": name in required,
             "description": field.get("description", ""), "constraints": _constraints(field)}
            for name, field in schema.get("properties", {}).items()]


def _response_rows(responses: dict, components: dict) -> list[dict]:
    rows = []
    for status, response in responses.items():
        if "$ref" in response:
            response = components["responses"][_ref_name(response["$ref"])]
        content = response.get("content", {})
        rows.append({"status": status, "description": response.get("description", ""),
                     "media": [(media, type_label(body.get("schema")), _link(body.get("schema")))
                               for media, body in content.items()]})
    return rows


def _operation_row(path: str, method: str, operation: dict, components: dict) -> dict:
    body = operation.get("requestBody", {}).get("content", {})
    return {
        "id": operation["operationId"], "method": method.upper(), "path": path,
        "summary": operation.get("summary", ""), "description": paragraphs(operation.get("description", "")),
        "security": " or ".join(name for requirement in operation.get("security", []) for name in requirement),
        "parameters": [{"name": p["name"], "in": p["in"], "type": type_label(p["schema"]),
                        "constraints": _constraints(p["schema"])} for p in operation.get("parameters", [])],
        "body": [(media, type_label(entry["schema"]), _link(entry["schema"])) for media, entry in body.items()],
        "responses": _response_rows(operation["responses"], components),
    }


def page_model(spec: dict) -> dict:
    """What the docs page shows: operations grouped by tag, then every schema's fields."""
    components = spec["components"]
    groups: dict[str, list[dict]] = {tag["name"]: [] for tag in spec.get("tags", [])}
    for path, item in spec["paths"].items():
        for method in sorted(item, key=_METHOD_ORDER.index):
            groups.setdefault(item[method]["tags"][0], []).append(
                _operation_row(path, method, item[method], components))
    schemas = [{"name": name, "type": "object" if "properties" in schema else type_label(schema),
                "description": schema.get("description", ""), "fields": _fields(schema),
                "json": json.dumps(schema, indent=2, ensure_ascii=False)}
               for name, schema in sorted(components["schemas"].items())]
    return {"info": spec["info"], "description": paragraphs(spec["info"].get("description", "")),
            "groups": {tag: ops for tag, ops in groups.items() if ops}, "schemas": schemas,
            "schemes": components["securitySchemes"], "openapi": spec["openapi"]}


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 document of this service."""
    return jsonify(document())


@bp.get("/docs")
def docs():
    """The API reference as a web page."""
    return render_template("api_docs.html", page=page_model(document()))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
