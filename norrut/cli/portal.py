"""CLI commands for the segment portal: `norrut serve` and `norrut users add/remove/list`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from norrut.cli.context import NorrutCommand, NorrutGroup, fail, home_of

if TYPE_CHECKING:
    from portal.users import User

users_app = typer.Typer(
    cls=NorrutGroup,
    name="users",
    help="Manage the accounts that may sign in to the segment portal.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("serve", cls=NorrutCommand)(serve)
    app.add_typer(users_app, name="users")


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(
        help="Address to listen on. Keep 127.0.0.1 unless a reverse proxy with HTTPS is in front.",
    )] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.", min=1, max=65535)] = 8000,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies/--no-secure-cookies",
        help="Mark the session cookie Secure (browsers then send it over HTTPS only). "
             "Turn on when the portal is served through HTTPS.",
    )] = False,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        help="Comma-separated addresses of the reverse proxy whose X-Forwarded-For header is "
             "trusted. Without it the sign-in throttle sees the proxy's address as every "
             "client's, so one client's failures slow down everyone behind the proxy.",
    )] = None,
) -> None:
    """Start the segment portal, where campaign managers find and download audiences."""
    import uvicorn

    from portal.app import create_app
    from portal.users import UserStore, UserStoreError

    home = home_of(ctx)
    try:
        has_users = bool(UserStore(home.users_file).list_users())
    except UserStoreError as problem:
        raise fail(str(problem)) from problem
    shown_host = f"[{host}]" if ":" in host else host
    typer.echo(f"Norrut segment portal for {home.root}")
    typer.echo(f"Open http://{shown_host}:{port}/ in a browser (Ctrl+C stops the portal).")
    if not has_users:
        typer.echo("No portal accounts exist yet. Add one with:  norrut users add NAME --admin")
    if host not in ("127.0.0.1", "localhost", "::1") and not secure_cookies:
        typer.echo("warning: listening beyond this machine without --secure-cookies; serve "
                   "through HTTPS so passwords and audiences are not sent in clear text.",
                   err=True)
    uvicorn.run(create_app(home, secure_cookies=secure_cookies), host=host, port=port,
                log_level="info", proxy_headers=forwarded_allow_ips is not None,
                forwarded_allow_ips=forwarded_allow_ips)


@users_app.command("add", cls=NorrutCommand)
def add_user(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name to sign in with.")],
    admin: Annotated[bool, typer.Option(
        "--admin", help="May also view the download audit log.")] = False,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input "
                                 "(for scripts) instead of prompting twice.")] = False,
) -> None:
    """Add a portal account; the password is stored only as an argon2 hash."""
    from portal.users import UserStore, UserStoreError, validate_password, validate_user_name

    store = UserStore(home_of(ctx).users_file)
    try:
        validate_user_name(name)
        if store.get(name) is not None:
            raise UserStoreError(f"user {name!r} already exists; remove it first to set a "
                                 "new password")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        validate_password(password)
        user = store.add(name, password, is_admin=admin)
    except UserStoreError as problem:
        raise fail(str(problem)) from problem
    typer.echo(f"Added {user.name} ({role_of(user)}).")


@users_app.command("remove", cls=NorrutCommand)
def remove_user(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="User name to remove; signs the user out too.")],
) -> None:
    """Remove a portal account."""
    from portal.users import UserStore, UserStoreError

    try:
        UserStore(home_of(ctx).users_file).remove(name)
    except UserStoreError as problem:
        raise fail(str(problem)) from problem
    typer.echo(f"Removed {name}.")


@users_app.command("list", cls=NorrutCommand)
def list_users(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the accounts as JSON.")] = False,
) -> None:
    """List portal accounts: name, role and when each was added (never their passwords)."""
    from rich.console import Console
    from rich.table import Table

    from portal.users import UserStore, UserStoreError

    try:
        users = UserStore(home_of(ctx).users_file).list_users()
    except UserStoreError as problem:
        raise fail(str(problem)) from problem
    if as_json:
        typer.echo(json.dumps([{"name": user.name, "role": role_of(user),
                                "created_at": user.created_at} for user in users], indent=2))
        return
    if not users:
        typer.echo("No portal accounts yet. Add one with: norrut users add NAME --admin")
        return
    table = Table(title=f"Portal accounts ({len(users)})")
    table.add_column("name", style="bold", overflow="fold")
    table.add_column("role")
    table.add_column("added")
    for user in users:
        table.add_row(user.name, role_of(user), user.created_at)
    Console(width=160).print(table)


def role_of(user: User) -> str:
    """What an account may do, in the words `norrut users add` uses."""
    return "administrator" if user.is_admin else "campaign manager"
