"""How one context key is read: its spec (a row of the settings' table) and the kinds of value.

Every key of the app, stack-wide or a pair's, is a ``KeySpec``: its name (and its name inside
a ``pairs`` entry where that differs), the kind of value it takes and the form expected, its
default, where it may appear, and what it needs to mean anything. ``eni_failover_cdk.settings``
holds the table and applies it with one reader, so every key reads the same way:

- a list from a real list (cdk.json), from a JSON list in a string (the command line's
  ``-c 'triggerAlarms=["a,b","c"]'``), or from comma-separated text;
- every problem against the key the operator typed (``pairs[1].eniIds``), with the value
  given and the form expected, in our words, never the validation library's.

A value known only at deploy time (a CDK token, such as ``instance.instance_id`` in a user's
stack) is accepted by the kinds whose pydantic type accepts one under
``eni_failover.config.DEPLOY_TIME_VALUES`` (instance, interface, route table, Elastic IP
allocation, VPC and subnet IDs); any other key refuses it by name.
"""

from __future__ import annotations

import difflib
import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, TypeAdapter, ValidationError

from eni_failover.config import DEPLOY_TIME_VALUES
from eni_failover.probe import EXPECT_PROBE, ProbeSpec

# The validation context of every value read at synth: a CDK token passes where the type
# allows one (eni_failover.config), to be validated once resolvable.
SYNTH_CONTEXT: Mapping[str, bool] = {DEPLOY_TIME_VALUES: True}
CDK_TOKEN_START = "${Token["  # noqa: S105 - the start of a CDK token, no secret
LIST_FORMS = "comma-separated or a JSON list"


class Scope(enum.Flag):
    """Where a key may appear: at the top level stack-wide (beside `pairs`), at the top level
    as a key of the single pair of the command line, inside a `pairs` entry, or several."""

    NOWHERE = 0
    STACK = enum.auto()
    SINGLE = enum.auto()
    ENTRY = enum.auto()


def is_token(value: object) -> bool:
    """A CDK token's string form (``${Token[...]}``), by the CDK's own test."""
    if not isinstance(value, str) or CDK_TOKEN_START not in value:
        return False
    # Imported here: reading the settings of a context of literal values (the bench, the
    # emulator) does not load the CDK.
    from aws_cdk import Token  # noqa: PLC0415

    return bool(Token.is_unresolved(value))


@runtime_checkable
class Kind(Protocol):
    """A kind of value: reads one raw value (as the context holds it) or appends a problem
    naming ``label`` and returns None."""

    expected: str

    def read(self, raw: object, label: str, problems: list[str]) -> Any: ...


def refuse_token(text: str, label: str, expected: str, problems: list[str]) -> bool:
    """A token where the value must be known at synth: a name, a number, an address."""
    if not is_token(text):
        return False
    problems.append(
        f"{label}: {text!r} is a CDK token, a value known only at deploy time, and {label} "
        f"must be known at synth; expected {expected}"
    )
    return True


class Text:
    """One string of a form, validated by a pydantic type (eni_failover.config's, whose
    message states the form). ``deploy_time``: the type accepts a CDK token."""

    def __init__(
        self,
        kind: Any,
        expected: str,
        *,
        deploy_time: bool = False,
        refuse: Callable[[str], str | None] | None = None,
    ) -> None:
        self.adapter: TypeAdapter[Any] = TypeAdapter(kind)
        self.expected = expected
        self.deploy_time = deploy_time
        self.refuse = refuse

    def read(self, raw: object, label: str, problems: list[str]) -> Any:
        if not isinstance(raw, str):
            problems.append(f"{label}: expected text, {self.expected}; got {raw!r}")
            return None
        text = raw.strip()
        if not self.deploy_time and refuse_token(text, label, self.expected, problems):
            return None
        reason = self.refuse(text) if self.refuse else None
        if reason is not None:
            problems.append(f"{label}: {reason}")
            return None
        try:
            return self.adapter.validate_python(text, context=SYNTH_CONTEXT)
        except ValidationError as error:
            # The type's own reason when it states the form (a CIDR with host bits says so).
            said = reason_of(error)
            problems.append(
                f"{label}: {said}"
                if self.expected in said
                else f"{label}: {text!r} is not {self.expected}"
            )
            return None


class Number:
    """A number of a range; a string from the command line, a number from cdk.json."""

    def __init__(self, kind: Any, expected: str) -> None:
        self.adapter: TypeAdapter[Any] = TypeAdapter(kind)
        self.expected = expected

    @classmethod
    def of(cls, model: type[BaseModel], name: str, what: str) -> Number:
        """The field ``name`` of ``model``, its range stated after ``what``."""
        info = model.model_fields[name]
        kind: Any = info.annotation
        for constraint in info.metadata:
            kind = Annotated[kind, constraint]
        return cls(kind, f"{what} {range_of(model, name)}")

    def read(self, raw: object, label: str, problems: list[str]) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            problems.append(f"{label}: {raw!r} is not {self.expected}")
            return None
        if isinstance(raw, str) and refuse_token(raw.strip(), label, self.expected, problems):
            return None
        try:
            return self.adapter.validate_python(raw.strip() if isinstance(raw, str) else raw)
        except ValidationError:
            problems.append(f"{label}: {raw!r} is not {self.expected}")
            return None


def range_of(model: type[BaseModel], name: str) -> str:
    """A field's range in words: 'from 1 to 20', 'more than 0, at most 30', 'more than 0'."""
    low = high = ""
    for constraint in model.model_fields[name].metadata:
        for attribute, words in (("ge", "from"), ("gt", "more than")):
            if getattr(constraint, attribute, None) is not None:
                low = f"{words} {getattr(constraint, attribute):g}"
        for attribute, words in (("le", "to"), ("lt", "less than")):
            if getattr(constraint, attribute, None) is not None:
                high = f"{words} {getattr(constraint, attribute):g}"
    if low.startswith("from") and high.startswith("to"):
        return f"{low} {high}"
    low = low.replace("from", "at least")
    high = high.replace("to", "at most")
    return ", ".join(part for part in (low, high) if part)


class Flag:
    expected = "true or false"

    def read(self, raw: object, label: str, problems: list[str]) -> bool | None:
        """true/false as JSON gives it, or as text from the command line."""
        if isinstance(raw, bool):
            return raw
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text in ("true", "false"):
            return text == "true"
        problems.append(f"{label}: {raw!r} is not {self.expected}")
        return None


class Choice:
    """One of a few words, in any case."""

    def __init__(self, values: Mapping[str, Any], expected: str) -> None:
        self.values = values
        self.expected = expected

    def read(self, raw: object, label: str, problems: list[str]) -> Any:
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text is None or text not in self.values:
            problems.append(f"{label}: {raw!r} is not {self.expected}")
            return None
        return self.values[text]


class Probe:
    expected = EXPECT_PROBE

    def read(self, raw: object, label: str, problems: list[str]) -> str | None:
        if not isinstance(raw, str) or not raw.strip():
            problems.append(f"{label}: expected {EXPECT_PROBE}; got {raw!r}")
            return None
        text = raw.strip()
        if refuse_token(text, label, EXPECT_PROBE, problems):
            return None
        try:
            ProbeSpec.parse(text)
        except ValueError as error:  # names the form expected, or the port's range
            problems.append(f"{label}: {error}")
            return None
        return text


class Port:
    """A TCP port: a number in cdk.json, a decimal string from the command line."""

    def __init__(self, expected: str) -> None:
        self.expected = expected

    def read(self, raw: object, label: str, problems: list[str]) -> int | None:
        text = raw.strip() if isinstance(raw, str) else raw
        port = None
        if isinstance(text, int) and not isinstance(text, bool):
            port = text
        elif isinstance(text, str) and text.isdecimal():
            port = int(text)
        if port is None or not 1 <= port <= 65535:
            problems.append(f"{label}: {raw!r} is not {self.expected}")
            return None
        return port


class ListOf:
    """Several values of one kind: a list, a JSON list in a string, or comma-separated text
    (so a value with a comma needs one of the list forms). Never empty.

    ``repeats``: 'refuse' names a value listed twice; 'drop' keeps it once silently.
    """

    def __init__(
        self, item: Kind, *, repeats: str = "refuse", sort: bool = False, expected: str = ""
    ) -> None:
        self.item = item
        self.repeats = repeats
        self.sort = sort
        self.expected = expected or f"{item.expected}; several {LIST_FORMS}"

    def read(self, raw: object, label: str, problems: list[str]) -> tuple[Any, ...] | None:
        items = list_items(raw, label, self.item.expected, problems)
        if items is None:
            return None
        read = [self.item.read(item, label, problems) for item in items]
        if any(value is None for value in read):
            return None  # each refused value is named; a part of the list is no value
        values = list(read)
        if self.repeats == "refuse":
            repeated = sorted({str(v) for v in values if values.count(v) > 1})
            if repeated:
                problems.append(f"{label}: {', '.join(repeated)} listed more than once")
        kept = list(dict.fromkeys(values))
        return tuple(sorted(kept) if self.sort else kept)


def list_items(raw: object, label: str, expected: str, problems: list[str]) -> list[Any] | None:
    """The items of a list-valued key, however it was given; None (with a problem) if none."""
    if isinstance(raw, str):
        text = raw.strip()
        if _json_list_form(text):
            # The JSON list form, which the CDK CLI hands over as text: ["a,b","c"]
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as error:
                problems.append(
                    f"{label}: {text!r} is not a JSON list ({error.msg} at character "
                    f"{error.pos + 1}); expected {expected}, several {LIST_FORMS} such as "
                    '["a", "b"]'
                )
                return None
            items: list[Any] = list(parsed) if isinstance(parsed, list) else [parsed]
        else:
            items = [part.strip() for part in text.split(",") if part.strip()]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        problems.append(f"{label}: expected {expected}, or a list of them; got {raw!r}")
        return None
    if not items:
        problems.append(f"{label}: empty; expected {expected}")
        return None
    return items


def _json_list_form(text: str) -> bool:
    """Text meant as a JSON list: in brackets, or opening with '["' (one cut short). An
    alarm name may start with '[' ('[prod] web'), and then reads as one name."""
    return text.startswith("[") and (text.endswith("]") or text[1:].lstrip().startswith('"'))


def reason_of(error: ValidationError) -> str:
    """Our validator's own words, without pydantic's prefix (its other wording is never
    shown: each kind states the form expected instead)."""
    return str(error.errors()[0]["msg"]).removeprefix("Value error, ")


def always(_: Any) -> bool:
    return True


def is_true(value: Any) -> bool:
    return value is True


@dataclass(frozen=True, kw_only=True)
class KeySpec:
    """One context key: what it takes, where, its default, and what it needs.

    ``scope``: where it may appear (Scope.STACK beside `pairs`; Scope.SINGLE and Scope.ENTRY for
    a pair's key, named ``entry_name`` inside an entry where that differs); ``required``: where
    it must. ``sets``: the model field it fills, as 'Pair.interface_ids',
    'Tuning.swap_deadline_seconds' or 'Probing.failures'; none for a key the stack reads itself.
    ``needs``: names of the settings' needs (a probe, failback=auto, vpcId ...) a value of this
    key depends on; ``engaged`` says which values ask for them (a flag set to false asks for
    nothing). ``default`` may be a function of the reading so far (the pairs' count, discovery).
    """

    name: str
    kind: Kind | Callable[[Any], Kind]
    scope: Scope = Scope.STACK
    entry_name: str = ""
    sets: str = ""
    default: Any = None
    required: Scope = Scope.NOWHERE
    missing: str = ""
    needs: tuple[str, ...] = ()
    engaged: Callable[[Any], bool] = field(default=always)
    blank_is_absent: bool = False

    @property
    def in_entry(self) -> str:
        """Its name inside a `pairs` entry."""
        return self.entry_name or self.name

    def kind_for(self, reading: Any) -> Kind:
        kind = self.kind
        return kind if isinstance(kind, Kind) else kind(reading)

    def default_for(self, reading: Any) -> Any:
        return self.default(reading) if callable(self.default) else self.default


def read_key(
    spec: KeySpec,
    raw: object,
    label: str,
    problems: list[str],
    *,
    reading: Any = None,
    scope: Scope = Scope.STACK,
) -> tuple[bool, Any]:
    """(given, value) of one key where ``scope`` says: the default when absent, a problem
    when required there, None when its value is refused (the problem appended)."""
    if spec.blank_is_absent and isinstance(raw, str) and not raw.strip():
        raw = None
    if raw is None:
        if spec.required & scope:
            expected = spec.kind_for(reading).expected
            problems.append(f"{label}: missing; expected {expected}{spec.missing}")
            return False, None
        return False, spec.default_for(reading)
    return True, spec.kind_for(reading).read(raw, label, problems)


def nearest(key: str, known: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return found[0] if found else None
