"""The one settings idiom: a field carries default, help and choices; help, checks and building read them."""
from __future__ import annotations

from dataclasses import MISSING, dataclass

import pytest

from nearmiss.errors import ConfigError
from nearmiss.export import ExportConfig
from nearmiss.registry import Registry
from nearmiss.settings import build, check_choices, choices_of, default_of, help_of, setting

COLOURS = Registry.of_names("colour", ("red", "green", "blue"))


@dataclass(frozen=True)
class Inner:
    k: int = setting(3, "Neighbours.")
    tags: tuple[str, ...] = setting((), "Tags.")


@dataclass
class Toy:
    name: str = setting(help="Required name.")
    colours: list[str] = setting(["red"], "Colours to paint.", COLOURS)
    shade: str | None = setting(None, "red (warm), green or blue.", lambda: COLOURS)
    inner: Inner = setting(Inner(), "Inner settings.")
    extra: dict[str, int] = setting({"a": 1}, "Extras.")

    def __post_init__(self) -> None:
        check_choices(self)


def test_defaults_required_fields_and_copies_per_config():
    assert default_of(Toy, "name") is MISSING and default_of(Toy, "colours") == ["red"]
    assert default_of(Toy, "inner") == Inner() and default_of(Toy, "shade") is None
    with pytest.raises(TypeError):
        Toy()  # name is required
    a, b = Toy("a"), Toy("b")
    a.colours.append("blue")
    a.extra["b"] = 2
    assert b.colours == ["red"] and b.extra == {"a": 1} and default_of(Toy, "colours") == ["red"]


def test_a_mutable_config_default_is_copied_per_config(tmp_path):
    one, two = ExportConfig(format="dpo", out=tmp_path / "1"), ExportConfig(format="dpo", out=tmp_path / "2")
    one.filters.origins.append("given")
    assert one.filters is not two.filters and two.filters.origins == []


def test_help_names_every_choice_once():
    assert help_of(Toy, "colours") == "Colours to paint. Choices: red, green, blue."  # the text names none
    assert help_of(Toy, "shade") == "red (warm), green or blue."  # the text names them all already
    assert help_of(Toy, "name") == "Required name."
    assert choices_of(Toy, "shade") is COLOURS and choices_of(Toy, "name") is None  # a function is resolved


def test_choices_are_refused_in_the_registrys_wording_with_the_field():
    with pytest.raises(ConfigError) as e:
        Toy("x", colours=["red", "mauve"])
    assert str(e.value) == "colours: unknown colour 'mauve'; expected one of red, green, blue"
    with pytest.raises(ConfigError, match="^shade: unknown colour 'pink'"):
        Toy("x", shade="pink")
    assert Toy("x", colours=[], shade=None).colours == []  # None and an empty list pass


def test_build_makes_nested_configs_and_refuses_unknown_names():
    toy = build(Toy, {"name": "n", "inner": {"k": 5, "tags": ["a", "b"]}, "colours": ["blue"]})
    assert toy == Toy("n", colours=["blue"], inner=Inner(k=5, tags=("a", "b")))
    with pytest.raises(ConfigError) as e:
        build(Toy, {"name": "n", "colour": ["blue"]})
    assert str(e.value) == "unknown setting 'colour'; expected one of name, colours, shade, inner, extra"
    with pytest.raises(ConfigError, match="^unknown setting 'kk'; expected one of k, tags$"):
        build(Toy, {"name": "n", "inner": {"kk": 1}})
