"""`relief users`: who may use the server, with which role, and machines' API tokens."""

import os
import sys
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import DbOption, console, fail, print_json, print_table, read, run

app = typer.Typer(
    help="Users of the HTTP server (用户): add, list, disable, API tokens.", no_args_is_help=True
)

PASSWORD_ENV = "RELIEF_PASSWORD"


def _password(machine: bool) -> str | None:
    """The new user's password: RELIEF_PASSWORD (scripts), else asked for twice on a
    terminal; none for a machine user."""
    if machine:
        return None
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    if not sys.stdin.isatty():
        fail(f"no password: set {PASSWORD_ENV}, run on a terminal, or add --machine")
    password: str = typer.prompt("password 密码", hide_input=True, confirmation_prompt=True)
    return password


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name: letters, digits, . _ -")],
    role: Annotated[
        str, typer.Option("--role", help="keeper, dispatcher, planner, auditor or admin.")
    ],
    name: Annotated[str | None, typer.Option("--name", help="Display name, e.g. 李库管.")] = None,
    machine: Annotated[
        bool, typer.Option("--machine", help="No password: it acts through API tokens only.")
    ] = False,
    jurisdiction: Annotated[
        str | None,
        typer.Option(
            "--jurisdiction", help="Its code: the user posts only at depots of it and below."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a user. The password comes from RELIEF_PASSWORD or is asked for."""
    from supply.models import Role
    from supply.services import users

    try:
        chosen = Role(role)
    except ValueError:
        fail(f"--role: unknown role {role!r}; use one of {', '.join(r.value for r in Role)}")
    password = _password(machine)
    user = run(
        db,
        lambda s: users.add_user(
            s,
            username=username,
            role=chosen,
            password=password,
            display_name=name,
            jurisdiction=jurisdiction,
        ),
    )
    console.print(f"added {user.role} {user.username}", highlight=False)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Show every user, their role and whether they may log in."""
    from supply.services import users

    rows = read(db, users.list_users)
    if as_json:
        print_json(
            [
                {
                    "username": u.username,
                    "display_name": u.display_name,
                    "role": u.role,
                    "active": u.active,
                    "password": u.has_password,
                    "jurisdiction": u.jurisdiction,
                }
                for u in rows
            ]
        )
        return
    table = Table(
        "用户 username", "name", "角色 role", "辖区 jurisdiction", "密码 password", "启用 active"
    )
    for u in rows:
        table.add_row(
            u.username,
            u.display_name or "",
            u.role,
            u.jurisdiction or "(bureau)",
            "yes" if u.has_password else "no (machine)",
            "yes" if u.active else "no",
        )
    print_table(table)


@app.command("disable")
def disable(username: str, db: DbOption = None) -> None:
    """Stop a user at once: passwords and every token of theirs are refused from now on."""
    from supply.services import users

    run(db, lambda s: users.disable_user(s, username))
    console.print(f"disabled {username}", highlight=False)


@app.command("token")
def token(
    username: str,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "api",
    db: DbOption = None,
) -> None:
    """Make an API token for a user (a machine); it is printed once, alone on stdout."""
    from supply.services import users

    made = run(db, lambda s: users.create_token(s, username, name=name))
    sys.stdout.write(made.secret + "\n")
