"""Command options generated from config fields: flags, types, help and defaults come from the field,
and a value outside a field's choices is refused by the real CLI in the registry's one wording."""
from __future__ import annotations

from dataclasses import MISSING, dataclass
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from nearmiss.cli import _register, app
from nearmiss.cli.options import config_options
from nearmiss.errors import ConfigError
from nearmiss.export import ExportConfig, ExportFilters
from nearmiss.label.ranker import RankerConfig
from nearmiss.mine.index import IndexConfig
from nearmiss.mine.pools.lm import LMSampleConfig
from nearmiss.mine.pools.neighbours import NeighboursConfig
from nearmiss.mine.rank import RankConfig
from nearmiss.mine.run import MineConfig
from nearmiss.settings import choices_of, default_of, help_of, setting
from nearmiss.store.schema import ORIGINS
from nearmiss.train.config import TrainConfig

T, M, E, F, R = TrainConfig, MineConfig, ExportConfig, ExportFilters, RankerConfig
# command -> {flag: (config class, field)}, the flags these commands had before they were generated, and the
# command's own options that are no config field
FLAGS: dict[tuple[str, ...], tuple[dict[str, tuple[type, str]], set[str]]] = {
    ("train",): ({f"--{n.replace('_', '-')}": (T, n) for n in (
        "dataset", "methods", "sizes", "negatives", "seeds", "recipe", "train_split", "eval_split", "eval_limit", "lm",
        "lr", "epochs", "likra_w", "decide", "equivalence", "budget", "max_seeds", "spending", "out_dir")},
        {"--set", "--run", "--resume", "--json"}),
    ("mine",): ({**{f"--{n.replace('_', '-')}": (M, n) for n in (
        "dataset", "split", "pools", "scorers", "limit", "lm", "dtype", "embedder", "batch_size")},
        "--k": (NeighboursConfig, "k"), "--index": (IndexConfig, "kind"), "--samples": (LMSampleConfig, "samples"),
        **{f"--{n.replace('_', '-')}": (RankConfig, n) for n in ("w_gold", "w_question", "w_lm", "near_threshold")}},
        {"--backend", "--address", "--actors", "--json"}),
    ("export",): ({**{f"--{n.replace('_', '-')}": (E, n) for n in (
        "format", "out", "style", "parquet", "val_fraction", "seed", "correct_marker", "incorrect_marker",
        "hir_template", "overwrite")},
        **{f"--{n.replace('_', '-')}": (F, n) for n in (
            "min_annotators", "min_agreement", "nearness_min", "nearness_max", "p_near_min", "p_near_max",
            "include_unlabeled_distractors")},
        "--label": (F, "labels"), "--origin": (F, "origins"), "--dataset": (F, "datasets"), "--split": (F, "splits")},
        set()),
    ("rank", "fit"): ({f"--{n.replace('_', '-')}": (R, n) for n in (
        "model", "scope", "min_labels", "min_per_class", "folds", "refit_every", "seed")}, {"--dataset", "--json"}),
}


def _command(path: tuple[str, ...]) -> Any:
    _register()
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _shown(default: Any, flag: str) -> str | None:
    """How the help must show a field's default (None: not at all)."""
    if isinstance(default, bool):
        return flag[2:] if default else f"no-{flag[2:]}"
    if default in (None, [], (), ""):
        return None
    return ",".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)


@pytest.mark.parametrize("path", list(FLAGS), ids=" ".join)
def test_options_carry_each_fields_flag_help_and_default(path):
    fields, own = FLAGS[path]
    options = {opt: p for p in _command(path).params for opt in p.opts}
    assert set(options) == {*fields, *own}
    for flag, (cls, name) in fields.items():
        option, default = options[flag], default_of(cls, name)
        assert option.help.startswith(help_of(cls, name)), (flag, option.help)
        assert option.required == (default is MISSING), flag
        shown = None if default is MISSING else _shown(default, flag)
        assert option.help.endswith(f"  [default: {shown}]") if shown else "[default:" not in option.help, flag
        if isinstance(default, bool):
            assert option.secondary_opts == [f"--no-{flag[2:]}"]


@dataclass
class Toy:
    name: str = setting(help="Required.")
    sizes: list[int] = setting([1, 2], "Sizes.")
    w: float | str = setting("auto", "A number or auto.")
    loud: bool = setting(False, "Shout.")
    inner: RankConfig = setting(RankConfig(), "Nested.")


toy = typer.Typer()


@toy.command()
@config_options(Toy, "name", "sizes", "w", "loud", "inner.w_lm", flags={"inner.w_lm": "weight"})
def show(settings: dict[str, Any], verbose: bool = typer.Option(False, "--verbose")) -> None:
    typer.echo(repr((settings, verbose)))


@pytest.mark.parametrize("args,settings", [
    ((), {}),  # what is not given is left to the config
    (("--sizes", "3,4", "--sizes", "5"), {"sizes": [3, 4, 5]}),  # comma-separated, repeated, or both
    (("--sizes", ""), {"sizes": []}),  # given empty: the config decides whether that is allowed
    (("--w", "0.5"), {"w": 0.5}), (("--w", "auto"), {"w": "auto"}),  # float | str: a number, else the text
    (("--loud",), {"loud": True}), (("--no-loud",), {"loud": False}),
    (("--weight", "0.7"), {"inner": {"w_lm": 0.7}}),  # a nested field, renamed
])
def test_given_options_reach_the_command_as_settings(args, settings):
    out = CliRunner().invoke(toy, ["--name", "n", *args, "--verbose"])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == repr(({"name": "n", **settings}, True))


def test_a_bad_list_or_a_missing_required_option_is_refused():
    bad = CliRunner().invoke(toy, ["--name", "n", "--sizes", "3,x"])
    assert isinstance(bad.exception, ConfigError) and str(bad.exception) == (
        "--sizes: expected a comma-separated list, got '3,x'")
    missing = CliRunner().invoke(toy, [])
    assert missing.exit_code == 2 and "Missing option '--name'" in missing.output


@pytest.mark.parametrize("args,field,cls", [
    (("train", "--methods", "likra,bogus"), "methods", TrainConfig),
    (("train", "--recipe", "bogus"), "recipe", TrainConfig),
    (("mine", "--dataset", "d", "--pools", "distractors", "--pools", "bogus"), "pools", MineConfig),
    (("mine", "--dataset", "d", "--index", "bogus"), "kind", IndexConfig),
    (("export", "--format", "bogus", "--out", "out"), "format", ExportConfig),
    (("export", "--format", "dpo", "--out", "out", "--origin", "given,bogus"), "origins", ExportFilters),
    (("rank", "fit", "--model", "bogus"), "model", RankerConfig),
    (("rank", "show", "--scope", "bogus"), "scope", RankerConfig),
], ids=lambda x: " ".join(x[:2]) if isinstance(x, tuple) else None)
def test_choices_are_refused_by_the_cli_in_one_wording(cli, sqlite_url, args, field, cls):
    out = cli(*args, db=sqlite_url)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines() == [f"Error: {field}: {choices_of(cls, field).unknown('bogus')}"]


def test_help_lists_the_registry_names():
    assert help_of(ExportFilters, "origins").endswith(f"Choices: {', '.join(ORIGINS)}.")
    assert all(name in help_of(TrainConfig, "methods") for name in choices_of(TrainConfig, "methods"))
