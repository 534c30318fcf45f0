"""The value types of the catalog's models. Each one checks a value, says what
was expected when it is wrong, and describes itself in the JSON Schema (so an
editor checks the same thing while the catalog is being written).

A problem found by a check is a pydantic error of type `catalog` whose message
is the final text; `catalog_yaml` adds where it was written.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError, core_schema

from generator import jail_params, names

Loc = tuple[str | int, ...]
T = TypeVar("T")


class Empty:
    """A null scalar. No key of the catalog takes one (an optional key is left
    out instead), so every field refuses it and says it is empty."""


EMPTY = Empty()


def kind_of_value(value: Any) -> str:
    """What a plain value from the document was written as."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, tuple | list):
        return "a list"
    if value is None or isinstance(value, Empty):
        return "empty"
    for types_, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number")):
        if isinstance(value, types_):
            return name
    if isinstance(value, str):
        return "a string"
    return "a timestamp" if isinstance(value, datetime.date) else "a binary"


def problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("catalog", "{problem}", {"problem": message})


def problems(found: list[tuple[Loc, str]], also: Sequence[ErrorDetails] = ()) -> ValidationError:
    """Several located problems at once (and errors found before them), raised
    from a validator: pydantic prefixes each location with the validator's own."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e["input"]
        )
        for e in also
    ]
    details += [InitErrorDetails(type=problem(text), loc=loc, input=None) for loc, text in found]
    return ValidationError.from_exception_data("Catalog", details)


def requiring(handler: Callable[[Any], T], data: Any, missing: list[str], why: str = "") -> T:
    """Validate `data`, and report the keys `missing` (required in this case,
    `why`) together with any other problem."""
    if not missing:
        return handler(data)
    found: list[tuple[Loc, str]] = [((), f"missing required key '{k}'{why}") for k in missing]
    try:
        handler(data)
    except ValidationError as exc:
        raise problems(found, exc.errors()) from None
    raise problems(found)


class NoNull(GenerateJsonSchema):
    """An optional key is left out, never written empty (catalog_yaml.Empty),
    so the schema shows its type without null."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


class Checked:
    """Annotated metadata: a string that `check` accepts (it returns None, else
    what was expected), and the JSON Schema keywords that say so."""

    def __init__(self, check: Callable[[str], str | None], label: str = "", **schema: Any):
        self.check, self.label, self.schema = check, label, schema

    def validate(self, value: str) -> str:
        expected = self.check(value)
        if expected is not None:
            raise problem(f"{self.label or f'invalid value {value!r}'} (expected {expected})")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), **self.schema}


class Matching(Checked):
    def __init__(self, regex: re.Pattern[str], expected: str, label: str = ""):
        # fullmatch: `$` alone would let a trailing newline through
        super().__init__(
            lambda v: None if regex.fullmatch(v) else expected,
            label,
            pattern=regex.pattern,
            description=expected,
        )
        self.match = regex.fullmatch

    def validate(self, value: str) -> str:
        return value if self.match(value) else super().validate(value)  # one call when good


class OneOf(Checked):
    def __init__(self, *choices: str):
        expected = "one of: " + ", ".join(choices)
        super().__init__(lambda v: None if v in choices else expected, enum=list(choices))


class Between(Checked):
    """An integer from `low` to `high`."""

    def __init__(self, low: int, high: int):
        super().__init__(lambda v: None, minimum=low, maximum=high)
        self.low, self.high = low, high

    def validate(self, value: int) -> int:  # type: ignore[override]
        if not self.low <= value <= self.high:
            raise problem(f"{value} is out of range (expected {self.low} to {self.high})")
        return value


class NonEmpty:
    """Annotated metadata: a list that is not empty; with `unique`, whose items
    are each listed once."""

    def __init__(self, expected: str, unique: str = ""):
        self.expected, self.unique = expected, unique

    def validate(self, items: tuple[str, ...]) -> tuple[str, ...]:
        if not items:
            raise problem(f"is empty (expected {self.expected})")
        if self.unique and len(set(items)) < len(items):
            twice = [i for i, item in enumerate(items) if item in items[:i]]
            raise problems([((i,), f"{self.unique} {items[i]!r} listed twice") for i in twice])
        return items

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "minItems": 1, **({"uniqueItems": True} if self.unique else {})}


def _network(value: Any) -> ipaddress.IPv4Network:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    expected = names.check_network(value)
    if expected is not None:
        raise problem(f"invalid value {value!r} (expected {expected})")
    return ipaddress.IPv4Network(value)


def _as_text(value: ipaddress.IPv4Network) -> str:
    return str(value)


def _env_value(value: Any) -> str:
    # taken as written (catalog_yaml keeps the scalar's text): `8080`, `yes`
    if not isinstance(value, str) or not names.ENV_VALUE.fullmatch(value):
        raise problem("invalid value (expected a scalar of A-Z a-z 0-9 space _ . / : = @ % + , -)")
    return value


Network = Annotated[
    ipaddress.IPv4Network,
    PlainValidator(_network),
    PlainSerializer(_as_text),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9.]+/[0-9]+$", "description": "CIDR"}),
]
AbsPath = Annotated[str, Matching(names.ABS_PATH, "an absolute path")]
Port = Annotated[int, Between(1, 65535)]
Ipv4 = Annotated[str, Checked(names.check_ipv4, format="ipv4")]
Domain = Annotated[str, Checked(names.check_domain, pattern=names.HOSTNAME.pattern)]
Endpoint = Annotated[str, Checked(names.check_endpoint, pattern=names.ENDPOINT.pattern)]
Arg = Annotated[str, Matching(names.ARG, "a command argument of A-Z a-z 0-9 _ . / : = @ % + , -")]
Argv = Annotated[tuple[Arg, ...], NonEmpty("the program and its arguments")]
EnvName = Annotated[str, Matching(names.ENV_NAME, "A-Z, a-z, 0-9, _", "invalid variable name")]
EnvValue = Annotated[
    str,
    PlainValidator(_env_value),
    WithJsonSchema({"type": ["string", "number", "boolean"], "pattern": names.ENV_VALUE.pattern}),
]


def _jail_params(value: Any) -> dict[str, bool | int | str]:
    if not isinstance(value, dict):
        raise problem(f"is {kind_of_value(value)} (expected a mapping)")
    found: list[tuple[Loc, str]] = []
    for key, item in sorted(value.items()):
        message = jail_params.check_name(key)
        if message is not None:
            found.append(((key, "[key]"), message))
        elif not isinstance(item, bool | int | str):
            expected = "(expected a boolean, integer or string)"
            found.append(((key,), f"is {kind_of_value(item)} {expected}"))
        elif (message := jail_params.check_value(key, item)) is not None:
            found.append(((key,), message))
    if found:
        raise problems(found)
    return dict(sorted(value.items()))


JailParams = Annotated[
    dict[str, bool | int | str],
    PlainValidator(_jail_params),
    WithJsonSchema(jail_params.json_schema()),
]
Interface = Annotated[str, Matching(names.INTERFACE, "an interface name like lo1")]
ZfsDataset = Annotated[str, Matching(names.ZFS_DATASET, "a ZFS dataset like zroot/jails")]
ModuleName = Annotated[
    str, Matching(names.MODULE_NAME, "a Puppet module name: a-z, then a-z, 0-9, _")
]
EnvironmentName = Annotated[
    str, Matching(names.MODULE_NAME, "a Puppet environment name: a-z, 0-9, _")
]
FreeBSDRelease = Annotated[
    str, Checked(names.check_freebsd_release, pattern=names.FREEBSD_RELEASE.pattern)
]
UserName = Annotated[str, Matching(names.USER_NAME, "a user name")]
GitSource = Annotated[
    str,
    Matching(
        names.GIT_SOURCE,
        "a git URL (https://, ssh://, file://, user@host:path) or an absolute path",
    ),
]
UrlPath = Annotated[str, Matching(names.URL_PATH, "a URL path like /up")]
Package = Annotated[str, Matching(names.PACKAGE, "a package name")]
Sha = Annotated[str, Matching(names.SHA, "a full 40-hex git commit id")]
AppName = Annotated[
    str,
    Matching(
        names.APP_NAME,
        "a-z then up to 29 of a-z, 0-9: it becomes part of jail, ZFS, host and service names",
        "invalid app name",
    ),
]
HostName = Annotated[
    str, Checked(names.check_hostname, "invalid host certname", pattern=names.HOSTNAME.pattern)
]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
