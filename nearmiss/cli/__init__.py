"""The ``nearmiss`` command line: a thin face over the library.

Each command group lives in its own module and registers itself on ``app``. Library
errors (NearmissError) are printed as one ``Error: ...`` line with exit code 1.
"""
from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import DBAPIError

from nearmiss.errors import NearmissError
from nearmiss.store.writes import is_contention

app = typer.Typer(help="Curate near-miss negatives for LLM training.", no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def main_options(ctx: typer.Context,
                 db: str = typer.Option(None, "--db", envvar="NEARMISS_DB",
                                        help="Store URL (sqlite:///file.db or postgresql+psycopg://...). "
                                             "Default: nearmiss.db in the working directory.")) -> None:
    ctx.obj = {"db": db}


def _register() -> None:
    from nearmiss.cli import (
        accounts,  # noqa: F401
        core,  # noqa: F401  (modules add their commands to `app`)
        export,  # noqa: F401
        labeling,  # noqa: F401
        mine,  # noqa: F401
        rank,  # noqa: F401
        runs,  # noqa: F401
        serve,  # noqa: F401
        train,  # noqa: F401
    )


def main() -> None:
    """Console entry point."""
    _register()
    try:
        code = app(standalone_mode=False)  # typer returns Exit codes (130 on Ctrl-C) instead of raising here
        if code == 130:
            typer.secho("Aborted.", err=True)
        if isinstance(code, int) and code:
            sys.exit(code)
    except NearmissError as e:
        typer.secho(f"Error: {e}", err=True, fg="red")
        sys.exit(1)
    except DBAPIError as e:  # contention outside a load (mining, labels): one line, never SQL or row values
        if not is_contention(e):
            raise
        typer.secho("Error: the store is busy with another writer; retry", err=True, fg="red")
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("Aborted.", err=True)
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.TyperException as e:  # usage errors (unknown option, bad value) show themselves
        if not hasattr(e, "show"):
            raise
        e.show()
        sys.exit(e.exit_code)
