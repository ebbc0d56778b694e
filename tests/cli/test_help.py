"""Every command's --help shows each option name whole at 80 and 120 columns."""
import pytest
import typer.main
from click.testing import CliRunner

from nearmiss.cli import app
from tests.conftest import cli_commands


@pytest.mark.parametrize("columns", [80, 120])
def test_help_never_truncates_option_names(columns):
    runner = CliRunner()
    checked = 0
    for path, cmd in cli_commands():
        out = runner.invoke(typer.main.get_command(app), [*path, "--help"], env={"COLUMNS": str(columns)},
                            terminal_width=columns)
        assert out.exit_code == 0, (path, out.output)
        assert "…" not in out.output, (path, out.output)
        for param in cmd.params:
            for name in [*param.opts, *param.secondary_opts]:
                if name.startswith("--"):
                    assert name in out.output, (path, name, out.output)
                    checked += 1
        assert max(map(len, out.output.splitlines())) <= columns, (path, out.output)
    assert checked > 50


def test_the_cli_starts_without_the_heavy_libraries():
    """Every command imports every command's module: model and ranker libraries load when used."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import sys, runpy; sys.argv = ['nearmiss', 'export', '--help']\n"
            "try: runpy.run_module('nearmiss.cli', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'scipy', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
