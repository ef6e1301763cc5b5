"""A catalogue of hostile inputs sent to every operation of the predictor, the generator and the
scheduler (in-process, on a bootstrapped database, with the admin token so that validation is
reached): missing and extra fields, wrong types, booleans for numbers, null, NaN and ±Infinity as
JSON literals and as strings, 1e309, values out of range, an empty body, truncated JSON, non-object
JSON, a 10 MB body, the wrong content type, a batch over the limit, an unknown dataset, negative,
huge and non-numeric ``limit``/``offset``/path numbers, malformed UUIDs.

The cases are derived from each service's OpenAPI document, so a new field or operation is
covered without editing this file. Each case must answer a 4xx in the services' error body
(never 2xx, never 5xx), naming the field when there is one, and store nothing: the row count of
every table is the same before and after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.support.credentials import ADMIN_HEADERS
from tests.support.examples import IRIS_OK as IRIS
from tests.support.examples import WINE_OK as WINE

JSON = {"content-type": "application/json"}
TEN_MB = 10 * 1024 * 1024
UUID = "6f1c1c3e-2b7a-4d38-9c7e-0d6a1f5e2b11"

# A valid body per request schema: each case breaks one thing of it, so the answer is about that.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "IrisFeatures": IRIS,
    "WineFeatures": WINE,
    "IrisBatchRequest": {"instances": [IRIS]},
    "WineBatchRequest": {"instances": [WINE]},
    "IrisActualIn": {"actual": "setosa"},
    "WineActualIn": {"actual": 5},
    "TrainRequest": {"include_synthetic": True, "profile": "fast"},
    "GenerateIn": {"n": 1, "idempotency_key": "k"},
    "IrisFitIn": {"algorithm": "gaussian_copula", "epochs": 1, "promote": "never"},
    "WineFitIn": {"algorithm": "gaussian_copula", "epochs": 1, "promote": "never"},
    "TriggerRequest": {"job": "daily", "dataset": "iris"},
}
PATH_VALUES = {"job_id": UUID, "prediction_id": UUID, "version": "1"}


@dataclass
class Case:
    """One hostile request and what it must be answered."""

    name: str
    method: str
    path: str
    statuses: tuple[int, ...] = (422,)
    names: str | None = None  # the field the error must name
    json_body: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} {self.name}"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return components[schema["$ref"].rsplit("/", 1)[-1]]  # type: ignore[no-any-return]
    return schema


def _variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a property's schema (``anyOf`` of a nullable one)."""
    return [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]


def _nullable(schema: dict[str, Any]) -> bool:
    return any(s.get("type") == "null" for s in schema.get("anyOf", []))


def _raw(body: dict[str, Any], name: str, literal: str) -> bytes:
    """``body`` as JSON text with ``name``'s value replaced by ``literal`` (NaN, Infinity, 1e309)."""
    marker = "__HOSTILE__"
    return json.dumps({**body, name: marker}).replace(f'"{marker}"', literal).encode()


def _field_cases(method: str, path: str, body: dict[str, Any], name: str, prop: dict[str, Any]) -> Iterator[Case]:
    def case(label: str, value: Any = None, raw: bytes | None = None) -> Case:
        if raw is not None:
            return Case(f"{name}={label}", method, path, names=name, content=raw, headers=JSON)
        return Case(f"{name}={label}", method, path, names=name, json_body={**body, name: value})

    variants = _variants(prop)
    kinds = {v.get("type") for v in variants}
    if not _nullable(prop):
        yield case("null", None)
    if kinds & {"number", "integer"}:
        yield case("string", "abc")
        yield case("true", True)
        yield case("false", False)
        yield case("object", {"value": 1})
        yield case("list", [1])
        for literal in ("NaN", "Infinity", "-Infinity", "1e309", "-1e309"):
            yield case(literal, raw=_raw(body, name, literal))
        for text in ("NaN", "Infinity", "-Infinity", "inf", "1e309"):
            yield case(f'"{text}"', text)
        numeric = variants[0]
        if "enum" in numeric:
            yield case("not-in-enum", max(numeric["enum"]) + 1)
        high = numeric.get("maximum", numeric.get("exclusiveMaximum"))
        low = numeric.get("minimum", numeric.get("exclusiveMinimum"))
        if high is not None:
            yield case("over-maximum", high * 10 + 1)
        if low is not None:
            yield case("under-minimum", low - 1 - abs(low))
        if "integer" in kinds:
            yield case("fraction", 1.5)
            yield case("2**70", 2**70)
    if "string" in kinds:
        yield case("number", 12)
        yield case("true", True)
        yield case("list", ["a"])
        text = next(v for v in variants if v.get("type") == "string")
        if "enum" in text:
            yield case("not-in-enum", "not-a-" + name)
            yield case("wrong-case", str(text["enum"][0]).upper())
        if "maxLength" in text:
            yield case("too-long", "x" * (text["maxLength"] + 1))
        if text.get("minLength"):
            yield case("empty", "")
    if "boolean" in kinds:
        yield case("string", "maybe")
        yield case("number", 2)
    if "array" in kinds:
        array = next(v for v in variants if v.get("type") == "array")
        yield case("object", {"a": 1})
        if array.get("minItems"):
            yield case("empty", [])
        if "maxItems" in array:
            item = body[name][0]
            yield Case(
                f"{name}=over-limit",
                method,
                path,
                names=name,
                json_body={**body, name: [item] * (array["maxItems"] + 1)},
            )
        yield case("item-not-object", [1])


def _body_cases(method: str, path: str, schema_name: str, schema: dict[str, Any], required: bool) -> Iterator[Case]:
    body = VALID_BODIES[schema_name]
    raw = json.dumps(body).encode()
    if required:
        yield Case("empty-body", method, path, content=b"", headers=JSON)
        yield Case("no-body", method, path)
    yield Case("truncated-json", method, path, statuses=(400, 422), content=raw[: len(raw) // 2], headers=JSON)
    yield Case("not-utf8", method, path, statuses=(400, 422), content=b'{"a": "\xff\xfe"}', headers=JSON)
    yield Case("json-array", method, path, json_body=[body])
    yield Case("json-string", method, path, json_body="hello")
    yield Case("json-number", method, path, json_body=42)
    yield Case("json-null", method, path, content=b"null", headers=JSON)
    yield Case("text-plain", method, path, statuses=(415, 422), content=raw, headers={"content-type": "text/plain"})
    yield Case(
        "form-encoded",
        method,
        path,
        statuses=(415, 422),
        content=b"a=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    yield Case("extra-field", method, path, names="unexpected", json_body={**body, "unexpected": 1})
    for name in schema.get("required", []):
        yield Case(f"{name}-missing", method, path, names=name, json_body={k: v for k, v in body.items() if k != name})
    for name, prop in schema.get("properties", {}).items():
        yield from _field_cases(method, path, body, name, prop)


def _parameter_cases(method: str, path: str, params: list[dict[str, Any]]) -> Iterator[Case]:
    for param in params:
        name, where = param["name"], param["in"]
        variants = _variants(param.get("schema", {}))
        kinds = {v.get("type") for v in variants}
        values: list[tuple[str, str]] = []
        if kinds & {"integer", "number"}:
            values += [("negative", "-1"), ("huge", str(10**30)), ("text", "abc"), ("fraction", "1.5")]
            values += [("NaN", "NaN"), ("Infinity", "Infinity"), ("1e309", "1e309"), ("true", "true"), ("empty", "")]
            numeric = variants[0]
            if "maximum" in numeric:
                values.append(("over-maximum", str(int(numeric["maximum"]) + 1)))
        if "string" in kinds:
            text = variants[0]
            if text.get("format") == "uuid":
                values += [("not-a-uuid", "not-a-uuid"), ("number", "123"), ("almost", UUID[:-1] + "z")]
                values += [("too-long", UUID + "0"), ("traversal", "..%2F..%2Fetc%2Fpasswd")]
            elif "enum" in text:
                values += [("not-in-enum", "not-a-value"), ("wrong-case", str(text["enum"][0]).upper())]
        for label, value in values:
            if where == "path" and value == "":
                continue
            if where == "path":
                # A number in a path is matched by the route (``{version:int}``): what is not one
                # is no route (404) rather than a bad value of one.
                statuses = (404, 422) if label == "traversal" or kinds & {"integer", "number"} else (422,)
                concrete = _fill(path, {name: value})
                yield Case(f"{name}={label}", method, concrete, statuses=statuses, names=name)
            else:
                yield Case(f"{name}={label}", method, _fill(path), params={name: value}, names=name)


def _fill(path: str, overrides: dict[str, str] | None = None) -> str:
    values = {**PATH_VALUES, **(overrides or {})}
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def catalogue(create_app: Any) -> list[Case]:
    """Every hostile case for every operation of the app ``create_app`` makes."""
    document = create_app().openapi()
    components = document.get("components", {}).get("schemas", {})
    cases: list[Case] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            method = method.upper()
            params = operation.get("parameters", [])
            cases += _parameter_cases(method, path, params)
            request = operation.get("requestBody")
            if request:
                ref = request["content"]["application/json"]["schema"]
                name = ref["$ref"].rsplit("/", 1)[-1]
                cases += _body_cases(method, path, name, _resolve(ref, components), request.get("required", False))
            if method == "POST":
                cases.append(
                    Case(
                        "10MB-body",
                        method,
                        _fill(path),
                        statuses=(413,),
                        content=b"{" + b" " * TEN_MB + b"}",
                        headers=JSON,
                    )
                )
            parts = path.split("/")
            if len(parts) > 2 and parts[1] in ("iris", "wine"):
                unknown = "/".join(["", "nope", *parts[2:]])
                cases.append(Case("unknown-dataset", method, _fill(unknown), statuses=(404,)))
    return cases


def _create(module: str) -> Any:
    import importlib

    return lambda: importlib.import_module(module).create_app()


CATALOGUES = {
    "predictor": catalogue(_create("services.predictor.app")),
    "generator": catalogue(_create("services.generator.app")),
    "scheduler": catalogue(_create("services.scheduler.main")),
}


_COUNTS: dict[str, sa.TextClause] = {}


def _row_counts(engine: sa.engine.Engine) -> dict[str, int]:
    """The row count of every table, in one query."""
    key = str(engine.url)
    if key not in _COUNTS:
        names = sa.inspect(engine).get_table_names()
        _COUNTS[key] = sa.text(" UNION ALL ".join(f"SELECT '{n}', count(*) FROM \"{n}\"" for n in names))
    with engine.connect() as conn:
        return {name: int(count) for name, count in conn.execute(_COUNTS[key])}


def _check(app: Any, case: Case) -> None:
    engine = app.state.engine
    before = _row_counts(engine)
    client = TestClient(app)  # not entered: the fixture already runs the app's lifespan
    response = client.request(
        case.method,
        case.path,
        params=case.params or None,
        json=case.json_body if case.content is None and case.json_body is not None else None,
        content=case.content,
        headers={**ADMIN_HEADERS, **case.headers},
    )
    assert response.status_code in case.statuses, (case.id, response.status_code, response.text[:500])
    body = response.json()
    assert set(body) == {"error", "message", "detail"}, (case.id, body)
    if case.names is not None and response.status_code == 422:
        fields = {str(item.get("field", "")) for item in body["detail"] or []}
        named = any(case.names == f or f.startswith(case.names + ".") or f.endswith("." + case.names) for f in fields)
        assert named or case.names in body["message"], (case.id, body)
    assert _row_counts(engine) == before, case.id


@pytest.mark.parametrize("case", CATALOGUES["predictor"], ids=lambda c: c.id)
def test_predictor_refuses_hostile_input(case: Case, predictor_app: Any) -> None:
    _check(predictor_app.app, case)


@pytest.mark.parametrize("case", CATALOGUES["generator"], ids=lambda c: c.id)
def test_generator_refuses_hostile_input(case: Case, generator_app: Any) -> None:
    _check(generator_app.app, case)


@pytest.mark.parametrize("case", CATALOGUES["scheduler"], ids=lambda c: c.id)
def test_scheduler_refuses_hostile_input(case: Case, scheduler_app: Any) -> None:
    _check(scheduler_app.app, case)


def test_the_bodies_the_cases_break_are_valid() -> None:
    """Each case breaks one thing of a body the API documents as valid: so a refusal is about
    that one thing (and a service that let it through would store something)."""
    import jsonschema

    for module in ("services.predictor.app", "services.generator.app", "services.scheduler.main"):
        document = _create(module)().openapi()
        components = document["components"]["schemas"]
        for name, schema in components.items():
            if name in VALID_BODIES:
                resolver = {"components": {"schemas": components}, **schema}
                jsonschema.validate(VALID_BODIES[name], resolver)
    assert sum(len(cases) for cases in CATALOGUES.values()) > 900
