"""Every API response a test receives must match the published OpenAPI schema.

tests/conftest.py wraps Django's test client: a response to a path under /api/v1/ is checked
against the operation the schema gives for its path and method — the status code must be
documented, the content type too, and a JSON body must validate against the response schema
(JSON Schema, OpenAPI 3.1). A test that makes the API answer something the schema does not
describe fails, whatever it asserts itself.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from django.http import HttpResponse
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

API_PREFIX = "/api/v1/"


class SchemaViolation(AssertionError):
    pass


@functools.cache
def _schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(generated, default=str))


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    compiled = []
    for template, item in _schema()["paths"].items():
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", pattern)
        compiled.append((re.compile(f"^{pattern}$"), item))
    # Literal paths before templated ones (queues/ before queues/{code}/…).
    compiled.sort(key=lambda entry: entry[0].pattern.count("[^/]+"))
    return compiled


@functools.cache
def _registry() -> Registry:
    document = _schema()
    return Registry().with_resource(
        "urn:kvisa", Resource(contents=document, specification=DRAFT202012)
    )


def _operation(path: str, method: str) -> dict[str, Any]:
    for pattern, item in _operations():
        if pattern.match(path):
            if method not in item:
                raise SchemaViolation(f"{method.upper()} {path}: the schema has no such operation")
            return item[method]
    raise SchemaViolation(f"{path}: not in the schema")


def check(*, path: str, method: str, response: HttpResponse) -> None:
    """Raise SchemaViolation when the response is not what the schema says."""
    if not path.startswith(API_PREFIX):
        return
    if response.status_code == 405 or (response.status_code == 404 and _unrouted(path)):
        return  # no operation to hold it to: the problem format is tested on its own
    operation = _operation(path, method.lower())
    documented = operation.get("responses", {})
    status = str(response.status_code)
    if status not in documented:
        raise SchemaViolation(
            f"{method} {path} answered {status}, documented: {sorted(documented)}"
        )
    content = documented[status].get("content")
    if not content or response.status_code == 204:
        return
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    if content_type not in content:
        raise SchemaViolation(
            f"{method} {path} {status} is {content_type}, documented: {sorted(content)}"
        )
    if not content_type.endswith("json"):
        return
    body = json.loads(response.content)
    validator = Draft202012Validator(
        _rewrite_refs(content[content_type]["schema"]), registry=_registry()
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise SchemaViolation(f"{method} {path} {status}: at /{where}: {first.message}")


def _rewrite_refs(node: Any) -> Any:
    """Point the schema's local refs (#/components/...) at the registered document."""
    if isinstance(node, dict):
        return {
            key: (
                "urn:kvisa" + value
                if key == "$ref" and value.startswith("#/")
                else _rewrite_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _unrouted(path: str) -> bool:
    return not any(pattern.match(path) for pattern, _item in _operations())
