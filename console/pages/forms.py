"""Forms built from a step's own pydantic model: one widget per field, and
the posted form read back into the data the model validates.

An input is named by its path into the model's data ("insurance.public_liability",
"objectives.0.baseline", a date's parts "start_date.day" …), so a validation
error's location, and a refusal mapped to a field, find the widget they
concern. A field left blank is left out, so the model's default (or "not
given") applies; a nested optional model left wholly blank is not given.
"""
from __future__ import annotations

import datetime as dt
import enum
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from console.dates import NOT_A_DATE, typed_date
from domain.models import field_path

from . import wording

Values = Mapping[str, list[str]]  # a posted form: every value of each name
MISSING = object()  # a field left blank
MAX_RADIOS = 10  # more choices than this are a select
NEEDED = "{label} is needed"  # a required field left blank


@dataclass
class Shape:
    """A field's type without its wrappers: `base`, whether None is allowed,
    and the bounds pydantic checks (min/max length, ge/le)."""

    base: Any
    optional: bool = False
    bounds: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self):
        return get_origin(self.base)

    def item(self) -> Shape:
        return shape_of(get_args(self.base)[-1])


def _bounds(metadata) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in metadata:
        if isinstance(m, FieldInfo):
            out.update(_bounds(m.metadata))
        for attr, key in (("min_length", "min_length"), ("max_length", "max_length"), ("ge", "ge"), ("le", "le")):
            if isinstance(m, (annotated_types.MinLen, annotated_types.MaxLen, annotated_types.Ge, annotated_types.Le)) and hasattr(m, attr):
                out[key] = getattr(m, attr)
    return out


def shape_of(annotation, metadata=()) -> Shape:
    optional, bounds = False, _bounds(metadata)
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            bounds.update(_bounds(extra))
        elif origin in (Union, types.UnionType):
            arms = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(arms) < len(get_args(annotation))
            annotation = arms[0] if len(arms) == 1 else str
        else:
            return Shape(annotation, optional, bounds)


def _is_model(t) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _choices(s: Shape) -> list[str] | None:
    if isinstance(s.base, type) and issubclass(s.base, enum.Enum):
        return [m.value for m in s.base]
    if s.origin is Literal:
        return [a.value if isinstance(a, enum.Enum) else a for a in get_args(s.base)]
    return None


def shown_fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    """The fields a person fills in: not the action's name (a constant), nor
    fields kept only for old histories (deprecated), nor those another step's
    form fills in (`json_schema_extra={"form": False}`)."""
    out = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        choices = _choices(shape_of(info.annotation, info.metadata))
        if info.deprecated or extra.get("deprecated") or extra.get("form") is False or (choices is not None and len(choices) == 1 and info.default is not None and not info.is_required()):
            continue
        out.append((name, info))
    return out


# --- widgets ----------------------------------------------------------------


@dataclass
class Widget:
    """One thing on the form. `kind` says how it is drawn: text, textarea,
    number, date, time, checkbox (one box), yesno, radios, select,
    checkboxes (several), fieldset (a nested model or a mapping) or list."""

    name: str
    label: str
    kind: str
    required: bool = False
    hint: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    children: list[Widget] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    width: str | None = None  # a GOV.UK input width class
    inline: bool = False  # radios side by side (a few short choices)
    entry: dict[str, Any] = field(default_factory=dict)  # a text input's type, keyboard and spellcheck (`wording.ENTRY_OF`)

    @property
    def id(self) -> str:
        return self.name.replace(".", "-")

    @property
    def anchor(self) -> str:
        """Where an error summary's link for this widget points: its first input."""
        if self.kind == "date":
            return f"{self.id}-day"
        if self.kind in ("fieldset", "list") and self.children:
            return self.children[0].anchor
        return self.id

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


def _one(values: Values, name: str) -> str:
    got = values.get(name) or [""]
    return got[0]


def _indexes(values: Values, name: str) -> list[int]:
    prefix = f"{name}."
    found = set()
    for key in values:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def widgets(model: type[BaseModel], values: Values, add: str | None = None, prefix: str = "") -> list[Widget]:
    """The model's fields as widgets holding `values`; `add` names a list
    given one more entry ("add another", which needs no script)."""
    return [_widget(f"{prefix}{name}", name, shape_of(info.annotation, info.metadata), info.is_required(), values, add)
            for name, info in shown_fields(model)]


def _widget(path: str, name: str, s: Shape, required: bool, values: Values, add: str | None, label: str | None = None) -> Widget:
    w = Widget(name=path, label=label or wording.label(path), kind="text", required=required and not s.optional,
               hint=wording.HINTS.get(name))
    choices = _choices(s)
    if _is_model(s.base):
        w.kind, w.children = "fieldset", widgets(s.base, values, add, prefix=f"{path}.")
    elif s.origin is list:
        _list(w, name, s, values, add)
    elif s.origin is dict:
        w.kind = "fieldset"
        item = s.item()
        for key, key_label in wording.KEYS.get(name, {}).items():
            child = f"{path}.{key}"
            if _is_model(item.base):
                w.children.append(Widget(name=child, label=key_label, kind="fieldset",
                                         children=widgets(item.base, values, add, prefix=f"{child}.")))
            else:
                w.children.append(_widget(child, key, item, False, values, add, label=key_label))
    elif choices is not None:
        w.kind = "radios" if len(choices) <= MAX_RADIOS else "select"
        w.choices = [(c, wording.choice(str(c))) for c in choices]
        w.inline = len(choices) <= 3
        w.value = _one(values, path)
    elif s.base is bool:
        w.kind = "yesno" if w.required else "checkbox"
        w.choices, w.inline = [("true", "Yes"), ("false", "No")], True
        w.value = _one(values, path)
    elif s.base in (int, float):
        w.kind, w.value, w.width = "number", _one(values, path), "govuk-input--width-10"
    elif s.base is dt.date:
        w.kind = "date"
        w.value = {part: _one(values, f"{path}.{part}") for part in ("day", "month", "year")}
    elif s.base is dt.time:
        w.kind, w.value, w.width = "time", _one(values, path), "govuk-input--width-5"
    else:
        w.kind = "textarea" if name in wording.LONG_TEXT else "text"
        w.value = _one(values, path)
        w.entry = dict(wording.ENTRY_OF.get(name, {}))
        w.width = w.entry.pop("width", None)
    return w


def _list(w: Widget, name: str, s: Shape, values: Values, add: str | None) -> None:
    item = s.item()
    choices = _choices(item)
    if choices is not None:
        w.kind = "checkboxes"
        w.choices = [(c, wording.choice(str(c))) for c in choices]
        w.value = [v for v in values.get(w.name, []) if v]
        return
    w.kind = "list"
    lo, hi = s.bounds.get("min_length"), s.bounds.get("max_length")
    fixed = lo is not None and lo == hi
    present = _indexes(values, w.name)
    count = lo if fixed else max(wording.SLOTS.get(name, 1), (present[-1] + 1) if present else 0) + (add == w.name)
    if not fixed and hi is not None:
        count = min(count, hi)
    singular = wording.entry(name)
    for i in range(count):
        child = _widget(f"{w.name}.{i}", name, item, False, values, add, label=f"{singular} {i + 1}")
        child.hint = None
        w.children.append(child)
    w.value = {"addable": not fixed and (hi is None or count < hi)}


def offer(tree: list[Widget], choices: Mapping[str, list[tuple[str, str]]]) -> None:
    """Text fields whose value must be one of a table's codes (a field's own
    name, wherever it is nested, in `choices`) offered as a select of the
    codes instead. A value the form already holds that is no longer a code
    stays an option, named as such, so opening a form never drops it."""
    for top in tree:
        for w in top.walk():
            codes = choices.get(w.name.rsplit(".", 1)[-1])
            if codes is None or w.kind != "text":
                continue
            w.kind, w.choices = "select", list(codes)
            if w.value and w.value not in {c for c, _ in codes}:
                w.choices.append((w.value, f"{w.value} (no longer one of the trust's codes)"))


# --- reading a posted form back ---------------------------------------------


def values_of(form) -> dict[str, list[str]]:
    """A posted form (Starlette's FormData) as every text value of each name."""
    return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form.keys()}


def parse(model: type[BaseModel], values: Values) -> tuple[dict, dict[str, str]]:
    """The data the form holds, for the model to validate, and the inputs
    that could not be read at all (a date that is not one), by name."""
    problems: dict[str, str] = {}
    data = _parse_model(model, "", values, problems)
    return ({} if data is MISSING else data), problems


def _parse_model(model: type[BaseModel], prefix: str, values: Values, problems: dict[str, str]):
    out = {}
    for name, info in shown_fields(model):
        v = _parse(f"{prefix}{name}", name, shape_of(info.annotation, info.metadata), info.is_required(), values, problems)
        if v is not MISSING:
            out[name] = v
    # Only required parts left empty ({}): the model was left wholly blank.
    return out if any(v != {} for v in out.values()) else MISSING


def _parse(path: str, name: str, s: Shape, required: bool, values: Values, problems: dict[str, str]):
    if _is_model(s.base):
        sub = _parse_model(s.base, f"{path}.", values, problems)
        return {} if sub is MISSING and required and not s.optional else sub
    if s.origin is list:
        item = s.item()
        if _choices(item) is not None:
            got = [v for v in values.get(path, []) if v]
        else:
            got = [_parse(f"{path}.{i}", name, item, False, values, problems) for i in _indexes(values, path)]
            lo = s.bounds.get("min_length")
            if lo is not None and lo == s.bounds.get("max_length"):  # a fixed set of answers: a blank one is an error
                got = [None if v is MISSING else v for v in got] if any(v is not MISSING for v in got) else []
            else:
                got = [v for v in got if v is not MISSING]
        return got if got or (required and not s.optional) else MISSING
    if s.origin is dict:
        item = s.item()
        got = {}
        for key in wording.KEYS.get(name, {}):
            v = _parse(f"{path}.{key}", key, item, False, values, problems)
            if v is not MISSING:
                got[key] = v
        return got or MISSING
    if s.base is dt.date:
        try:
            typed = typed_date(values, path)
        except ValueError:
            problems[path] = NOT_A_DATE
            return MISSING
        return MISSING if typed is None else typed.isoformat()
    raw = _one(values, path).strip()
    if s.base is bool:
        return {"true": True, "false": False}.get(raw, MISSING)
    if not raw:
        return MISSING
    if s.base in (int, float):
        return raw.replace(",", "").replace("£", "").replace("%", "").strip()
    return raw


def read(model: type[BaseModel], values: Values, left_blank: Mapping[str, str] | None = None,
         ) -> tuple[BaseModel | None, dict[str, str]]:
    """The model the form holds, or the problems with it: each input's
    message by name (a name the form has, or a nested model's). `left_blank`
    says, by name, what a required field left blank asks for where "… is
    needed" reads wrong, as GOV.UK words it ("Choose the session")."""
    data, problems = parse(model, values)
    try:
        instance = model.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            name = field_path(err)
            said = _message(err)
            problems.setdefault(name, (left_blank or {}).get(name, said) if said == NEEDED else said)
        return None, problems
    return (None, problems) if problems else (instance, {})


def _message(err: dict) -> str:
    """Pydantic's complaint in the console's words; "{label}" stands for the
    field's label, put in when the message is placed beside it."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("missing", "string_too_short"):
        return NEEDED
    if kind in ("int_parsing", "float_parsing", "int_from_float"):
        return "{label} must be a number"
    if kind == "greater_than_equal":
        return f"{{label}} must be {ctx.get('ge')} or more"
    if kind == "less_than_equal":
        return f"{{label}} must be {ctx.get('le')} or less"
    if kind in ("enum", "literal_error"):
        return "Choose one of the options for {label}"
    if kind.startswith("time"):
        return "{label} must be a time, like 15:30"
    if kind.startswith("date"):
        return NOT_A_DATE
    if kind == "string_pattern_mismatch":
        return "{label} is not in the right format"
    if kind == "too_short":
        return f"{{label}} needs at least {ctx.get('min_length')}"
    if kind == "too_long":
        return f"{{label}} takes at most {ctx.get('max_length')}"
    msg = err["msg"].removeprefix("Value error, ")
    if "email address" in msg:
        return "{label} must be an email address, like name@example.com"
    return msg[:1].upper() + msg[1:]


# --- values for a form shown for the first time ------------------------------


def flatten(model: type[BaseModel], data: Mapping[str, Any] | None, prefix: str = "") -> dict[str, list[str]]:
    """Form values from data in the model's shape (JSON-like: what
    `model_dump(mode="json")` gives), so a form can open filled in."""
    out: dict[str, list[str]] = {}
    for name, info in shown_fields(model):
        if data and name in data and data[name] is not None:
            _flatten(f"{prefix}{name}", name, shape_of(info.annotation, info.metadata), data[name], out)
    return out


def _flatten(path: str, name: str, s: Shape, value, out: dict[str, list[str]]) -> None:
    if _is_model(s.base):
        out.update(flatten(s.base, value, prefix=f"{path}."))
    elif s.origin is list:
        item = s.item()
        if _choices(item) is not None:
            out[path] = [str(v) for v in value]
        else:
            for i, v in enumerate(value):
                if v is not None:
                    _flatten(f"{path}.{i}", name, item, v, out)
    elif s.origin is dict:
        item = s.item()
        for key, v in value.items():
            _flatten(f"{path}.{key}", key, item, v, out)
    elif s.base is dt.date:
        d = dt.date.fromisoformat(str(value))
        out.update({f"{path}.day": [str(d.day)], f"{path}.month": [str(d.month)], f"{path}.year": [str(d.year)]})
    elif s.base is bool:
        out[path] = ["true" if value else "false"]
    elif s.base is dt.time:
        out[path] = [str(value)[:5]]
    else:
        out[path] = [str(value)]


# --- errors on the form -------------------------------------------------------


@dataclass
class ErrorItem:
    text: str
    href: str | None  # the input it concerns; none for a condition of the placement itself


def place_errors(tree: list[Widget], problems: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[ErrorItem]:
    """Puts each message beside the widget it names (or the nearest enclosing
    one; none: the step as a whole), and lists them all, in the form's
    order, for the error summary."""
    by_name: dict[str, Widget] = {}
    parent: dict[str, Widget] = {}
    for top in tree:
        for w in top.walk():
            by_name[w.name] = w
            for c in w.children:
                parent[c.name] = w
    placed: dict[str, list[str]] = {}
    loose: list[str] = []
    for name, message in (problems.items() if isinstance(problems, Mapping) else problems):
        target = name
        while target and target not in by_name:
            target = target.rpartition(".")[0]
        if not target:
            loose.append(message.replace("{label}", "This"))
            continue
        placed.setdefault(target, []).append(message.replace("{label}", _short(by_name[target].label)))
    summary = []
    for top in tree:
        for w in top.walk():
            if w.name not in placed:
                continue
            w.error = " ".join(placed[w.name])
            # An entry of a list says which entry: "Objective 2: Baseline is needed".
            up = parent.get(w.name)
            where = f"{up.label}: " if up is not None and up.name.rpartition(".")[2].isdigit() else ""
            summary += [ErrorItem(f"{where}{text}", f"#{w.anchor}") for text in placed[w.name]]
    return summary + [ErrorItem(m, None) for m in loose]


def _short(label: str) -> str:
    return label.split(" (")[0]
