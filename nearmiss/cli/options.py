"""Command options generated from a config dataclass's fields: flag, type, help and shown default all
come from the field (``nearmiss.settings``), so no command retypes them."""
from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import typer

from nearmiss.errors import ConfigError
from nearmiss.settings import default_of, help_of

Command = TypeVar("Command", bound=Callable[..., Any])
KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _kinds(hint: Any) -> tuple[tuple[type, ...], bool]:
    """The types a field's text is read as, in the order tried, and whether the field is a list."""
    origin = get_origin(hint)
    if origin in (list, tuple):
        return _kinds(get_args(hint)[0])[0], True
    if origin in (Union, types.UnionType):
        return tuple(t for a in get_args(hint) if a is not type(None) for t in _kinds(a)[0]), False
    if origin is Literal:
        return (str,), False
    return (hint,), False


def _cast(text: str, kinds: tuple[type, ...]) -> Any:
    """``text`` as the first of ``kinds`` that reads it (``float | str``: a number, else the text)."""
    for kind in kinds:
        try:
            return kind(text)
        except ValueError:
            continue
    raise ValueError(text)


def _shown(default: Any, flag: str) -> str:
    """The default as the help shows it (nothing for none, an empty list or a required field)."""
    if isinstance(default, bool):
        return f"  [default: {'' if default else 'no-'}{flag[2:]}]"
    if isinstance(default, (list, tuple)):
        default = ",".join(map(str, default))
    return "" if default in (None, "", MISSING) else f"  [default: {default}]"


@dataclass(frozen=True)
class _Option:
    """One generated option: the field it sets (a path of names into nested configs) and how it reads."""

    path: tuple[str, ...]
    flag: str
    kinds: tuple[type, ...]
    many: bool
    parameter: inspect.Parameter

    def value(self, given: Any) -> Any:
        """The field's value from what was given (None: not given); a list from comma-separated texts."""
        if given is None:
            return None
        if not self.many:
            return given if len(self.kinds) == 1 else _cast(given, self.kinds)
        text = ",".join(given)
        try:
            return [_cast(x.strip(), self.kinds) for x in text.split(",") if x.strip()]
        except ValueError:
            raise ConfigError(f"{self.flag}: expected a comma-separated list, got {text!r}") from None


def _option(cls: type, path: str, flag: str | None) -> _Option:
    *outer, name = path.split(".")
    owner = cls
    for part in outer:
        owner = get_type_hints(owner)[part]
    kinds, many = _kinds(get_type_hints(owner)[name])
    flag = "--" + (flag or name).replace("_", "-")
    default = default_of(owner, name)
    text = help_of(owner, name) + (" Comma-separated or repeated." if many else "") + _shown(default, flag)
    decl = f"{flag}/--no-{flag[2:]}" if kinds == (bool,) else flag
    option = typer.Option(... if default is MISSING else None, decl, help=text, show_default=False)
    annotation = list[str] if many else kinds[0] if len(kinds) == 1 else str
    parameter = inspect.Parameter("setting__" + path.replace(".", "__"), KEYWORD, default=option,
                                  annotation=annotation)
    return _Option(tuple(path.split(".")), flag, kinds, many, parameter)


def _leaves(cls: type, prefix: str = "") -> Iterator[str]:
    """The paths of every field of ``cls`` that is not itself a config, nested ones included."""
    hints = get_type_hints(cls)
    for f in fields(cls):
        hint = hints[f.name]
        if isinstance(hint, type) and is_dataclass(hint):
            yield from _leaves(hint, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name


def config_options(cls: type, *paths: str, flags: Mapping[str, str] | None = None) -> Callable[[Command], Command]:
    """Give a command an option for each field of config class ``cls`` named in ``paths`` (``rank.w_gold``: a
    field of a nested config; none named: every field), flagged ``--<field>`` unless ``flags`` renames it.
    The command gets what was given as ``settings``, nested by path; an option not given is left out, so
    the field's default (or a recipe's) applies."""
    options = [_option(cls, path, (flags or {}).get(path)) for path in paths or _leaves(cls)]

    def decorate(command: Command) -> Command:
        own = [p.replace(kind=KEYWORD) for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name != "settings"]
        context = [p for p in own if p.annotation is typer.Context]

        @functools.wraps(command)
        def run(**given: Any) -> Any:
            settings: dict[str, Any] = {}
            for o in options:
                value = o.value(given.pop(o.parameter.name))
                if value is not None:
                    into = settings
                    for part in o.path[:-1]:
                        into = into.setdefault(part, {})
                    into[o.path[-1]] = value
            return command(**given, settings=settings)

        made = [o.parameter for o in options]
        run.__signature__ = inspect.Signature([*context, *made, *(p for p in own if p not in context)])  # type: ignore[attr-defined]  # noqa: E501
        return run  # type: ignore[return-value]

    return decorate
