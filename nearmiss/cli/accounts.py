"""Account commands: `nearmiss user add | passwd | role | disable | enable | list | sessions | revoke`."""
from __future__ import annotations

import typer

from nearmiss.auth.accounts import MIN_PASSWORD, add_user, list_users, set_enabled, set_password, set_role
from nearmiss.auth.sessions import list_sessions, revoke_sessions
from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.errors import ConfigError
from nearmiss.store.schema import ROLES

user_app = typer.Typer(help="Manage accounts and their sign-in sessions.", no_args_is_help=True)
app.add_typer(user_app, name="user")

PASSWORD_HELP = f"At least {MIN_PASSWORD} characters; read from a prompt (twice), or two lines on stdin."


def _when(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else "-"


@user_app.command("add")
def user_add(ctx: typer.Context, name: str,
             role: str = typer.Option("annotator", help=f"One of: {', '.join(ROLES)}."),
             password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                          help=PASSWORD_HELP)) -> None:
    """Create an account (or reset its role and password, enabling it again and revoking its sessions).
    Names: no invisible or control characters, no outer spaces, unique ignoring case."""
    user = add_user(store_of(ctx), name, role, password)
    typer.echo(f"user {user.name} ({user.role}) saved")


@user_app.command("passwd")
def user_passwd(ctx: typer.Context, name: str,
                password: str = typer.Option(..., prompt="New password", hide_input=True, confirmation_prompt=True,
                                             help=PASSWORD_HELP)) -> None:
    """Give an account a new password; its sessions are revoked (its browsers sign in again)."""
    revoked = set_password(store_of(ctx), name, password)
    typer.echo(f"password of {name} changed; {revoked} session(s) revoked")


@user_app.command("role")
def user_role(ctx: typer.Context, name: str, role: str = typer.Argument(..., help=f"One of: {', '.join(ROLES)}.")
              ) -> None:
    """Change an account's role (effective on its next page or key)."""
    set_role(store_of(ctx), name, role)
    typer.echo(f"{name} is now {role}")


@user_app.command("disable")
def user_disable(ctx: typer.Context, name: str) -> None:
    """Disable an account and revoke all its sessions."""
    set_enabled(store_of(ctx), name, False)
    typer.echo(f"{name} disabled; its sessions are revoked")


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
        typer.echo(f"{a.name:20} {a.role:10} {'enabled' if a.enabled else 'disabled':9} {a.active_sessions:>8}  "
                   f"{'DEMO (change it)' if a.demo_password else 'own'}")


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
