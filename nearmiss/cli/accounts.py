"""Account commands: `nearmiss user add | passwd | role | disable | enable | list | sessions | revoke | log`.

Passwords are read from a prompt (twice), or two lines on stdin, never from argv; a one-time
password (``--one-time``) is generated and printed once. Every change is logged as done by the
command line and this OS user (``nearmiss user log``)."""
from __future__ import annotations

import typer

from nearmiss.auth.accounts import (
    MIN_PASSWORD,
    add_user,
    list_users,
    one_time_password,
    revoke_sessions,
    set_enabled,
    set_password,
    set_role,
)
from nearmiss.auth.audit import account_log
from nearmiss.auth.sessions import list_sessions
from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.errors import ConfigError
from nearmiss.store.schema import ROLES

user_app = typer.Typer(help="Manage accounts and their sign-in sessions.", no_args_is_help=True)
app.add_typer(user_app, name="user")

ONE_TIME_HELP = ("Generate a one-time password and print it once (no prompt); its owner must choose their own "
                 "at first sign-in.")


def _when(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else "-"


def _password(one_time: bool) -> str:
    """A generated one-time password, or one read from a prompt twice (two lines on stdin)."""
    if one_time:
        return one_time_password()
    return typer.prompt(f"Password (at least {MIN_PASSWORD} characters)", hide_input=True, confirmation_prompt=True)


def _hand_over(name: str, password: str) -> None:
    typer.echo(f"one-time password for {name} (shown once; they choose their own at first sign-in): {password}")


@user_app.command("add")
def user_add(ctx: typer.Context, name: str,
             role: str = typer.Option("annotator", help=f"One of: {', '.join(ROLES)}."),
             one_time: bool = typer.Option(False, "--one-time", help=ONE_TIME_HELP)) -> None:
    """Create an account (or reset its role and password, enabling it again and revoking its sessions).
    The password is read from a prompt, twice (or two lines on stdin), unless --one-time.
    Names: no invisible or control characters, no outer spaces, unique ignoring case."""
    store, password = store_of(ctx), _password(one_time)
    user = add_user(store, name, role, password, must_change=one_time)
    typer.echo(f"user {user.name} ({user.role}) saved")
    if one_time:
        _hand_over(user.name, password)


@user_app.command("passwd")
def user_passwd(ctx: typer.Context, name: str,
                one_time: bool = typer.Option(False, "--one-time", help=ONE_TIME_HELP)) -> None:
    """Reset an account's password (from a prompt, twice, or two lines on stdin, unless --one-time);
    its sessions are revoked (its browsers sign in again)."""
    store, password = store_of(ctx), _password(one_time)
    revoked = set_password(store, name, password, must_change=one_time)
    typer.echo(f"password of {name} changed; {revoked} session(s) revoked")
    if one_time:
        _hand_over(name, password)


@user_app.command("role")
def user_role(ctx: typer.Context, name: str, role: str = typer.Argument(..., help=f"One of: {', '.join(ROLES)}.")
              ) -> None:
    """Change an account's role (effective on its next page or key; the last enabled admin stays one)."""
    set_role(store_of(ctx), name, role)
    typer.echo(f"{name} is now {role}")


@user_app.command("disable")
def user_disable(ctx: typer.Context, name: str) -> None:
    """Disable an account and revoke all its sessions (not the last enabled admin)."""
    revoked = set_enabled(store_of(ctx), name, False)
    typer.echo(f"{name} disabled; {revoked} session(s) revoked")


@user_app.command("enable")
def user_enable(ctx: typer.Context, name: str) -> None:
    """Enable a disabled account."""
    set_enabled(store_of(ctx), name, True)
    typer.echo(f"{name} enabled")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """Accounts with role, state and active sessions."""
    typer.echo(f"{'name':20} {'role':10} {'state':9} {'sessions':>8}  password")
    for a in list_users(store_of(ctx)):
        password = "DEMO (reset it)" if a.demo_password else "one-time (to set)" if a.must_change_password else "own"
        typer.echo(f"{a.name:20} {a.role:10} {'enabled' if a.enabled else 'disabled':9} {a.active_sessions:>8}  "
                   f"{password}")


@user_app.command("sessions")
def user_sessions(ctx: typer.Context, name: str = typer.Argument(None, help="Only this account's sessions."),
                  all_: bool = typer.Option(False, "--all", help="Also expired and revoked sessions.")) -> None:
    """Sign-in sessions, newest first (active only unless --all)."""
    typer.echo(f"{'id':>6} {'user':20} {'created':16} {'last seen':16} {'expires':16} state")
    for x in list_sessions(store_of(ctx), name, active_only=not all_):
        typer.echo(f"{x.id:>6} {x.user:20} {_when(x.created_at):16} {_when(x.last_seen_at):16} "
                   f"{_when(x.expires_at):16} {x.state}")


@user_app.command("revoke")
def user_revoke(ctx: typer.Context, ids: list[int] = typer.Argument(None, help="Session ids (see `user sessions`)."),
                user: str = typer.Option(None, "--user", help="Revoke every session of this account.")) -> None:
    """Revoke sessions: the browsers holding them are signed out on their next page or key."""
    store = store_of(ctx)
    if user is not None:
        ids = [*(ids or []), *(x.id for x in list_sessions(store, user))]
    if not ids:
        raise ConfigError("give session ids or --user NAME")
    typer.echo(f"{revoke_sessions(store, ids)} session(s) revoked")


@user_app.command("log")
def user_log(ctx: typer.Context, name: str = typer.Argument(None, help="Only changes to this account."),
             limit: int = typer.Option(50, min=1, help="How many of the newest changes.")) -> None:
    """The account log, newest first: when, who, what, on which account."""
    typer.echo(f"{'when':16} {'by':24} {'action':16} {'account':20} detail")
    for e in account_log(store_of(ctx), name, limit):
        typer.echo(f"{_when(e.at):16} {e.actor:24} {e.action:16} {e.target:20} {e.detail}")
