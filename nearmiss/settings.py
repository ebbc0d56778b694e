"""One settings idiom: a config dataclass field carries its default, help text and choices once.

CLI options (``nearmiss.cli.options``) and page widgets read them here (``help_of``, ``default_of``,
``choices_of``); ``check_choices`` refuses a value outside its choices in the registry's one wording;
``build`` makes a config from settings by name, nested configs from nested dicts.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, field, fields, is_dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, get_origin, get_type_hints

from nearmiss.registry import Registry

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")


def setting(default: Any = MISSING, help: str = "",
            choices: Registry[Any] | Callable[[], Registry[Any]] | None = None) -> Any:
    """A config field with its default (none: required), help text and allowed names: a registry, or a
    function returning one where the registry's module imports the config's. A mutable default (list,
    dict, a config that is not frozen) is copied for each config."""
    metadata = {"help": help, "choices": choices}
    if default is not MISSING and getattr(default, "__hash__", None) is None:
        return field(default_factory=partial(copy.deepcopy, default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _field(cls: type, name: str) -> Field[Any]:
    return {f.name: f for f in fields(cls)}[name]


def _choices(f: Field[Any]) -> Registry[Any] | None:
    choices = f.metadata.get("choices")
    return choices() if callable(choices) else choices


def default_of(cls: type, name: str) -> Any:
    """The default of field ``name`` of config class ``cls`` (MISSING if required), without building a config."""
    f = _field(cls, name)
    return f.default_factory() if f.default_factory is not MISSING else f.default


def choices_of(cls: type, name: str) -> Registry[Any] | None:
    """The registry of names field ``name`` of ``cls`` allows (each item, for a list), or None if any value goes."""
    return _choices(_field(cls, name))


def _names(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def help_of(cls: type, name: str) -> str:
    """The help text of field ``name`` of ``cls``; unless it names every choice, the choices follow it."""
    f = _field(cls, name)
    text, choices = f.metadata.get("help", ""), _choices(f)
    if choices and not all(_names(text, choice) for choice in choices):
        return f"{text} Choices: {', '.join(choices)}."
    return text


def check_choices(config: Any) -> None:
    """Refuse a field value (or list item) outside the field's choices, in the registry's one wording,
    prefixed with the field name; None (a default decided later) passes."""
    for f in fields(config):
        choices, value = _choices(f), getattr(config, f.name)
        if choices is None or value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else (value,):
            choices.lookup(item, f.name)


def build(cls: type[C], settings: Mapping[str, Any]) -> C:
    """A ``cls`` config from settings by field name: a dict for a config field builds that field's class, a
    list for a tuple field becomes a tuple; a name that is no field is refused in the one wording."""
    names = Registry.of_names("setting", (f.name for f in fields(cls)))
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, value in settings.items():
        names.lookup(name)
        hint = hints[name]
        if isinstance(value, Mapping) and isinstance(hint, type) and is_dataclass(hint):
            value = build(hint, value)
        elif isinstance(value, list) and get_origin(hint) is tuple:
            value = tuple(value)
        values[name] = value
    return cls(**values)
