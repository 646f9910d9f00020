"""`relief users`: add, list, disable, token; refusals in one line with exit 2."""

import json

import pytest
from fastapi.testclient import TestClient

from api.http import create_app
from supply.settings import Settings
from tests.cli.harness import Relief


def test_add_list_disable_users(relief: Relief, monkeypatch: pytest.MonkeyPatch) -> None:
    """An admin with a password and a machine user are listed; disabling one shows it."""
    monkeypatch.setenv("RELIEF_PASSWORD", "admin-pass-1")
    relief.ok("users", "add", "chen", "--role", "admin", "--name", "陈管理员")
    relief.ok("users", "add", "wms", "--role", "keeper", "--machine")
    relief.ok("users", "disable", "wms")
    listed = json.loads(relief.ok("users", "list", "--json").stdout)
    assert [(u["username"], u["role"], u["password"], u["active"]) for u in listed] == [
        ("chen", "admin", True, True),
        ("wms", "keeper", False, False),
    ]


def test_add_refuses_unknown_role_and_taken_name(
    relief: Relief, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A role outside the five, a taken username and a short password are refused."""
    monkeypatch.setenv("RELIEF_PASSWORD", "admin-pass-1")
    bad_role = relief("users", "add", "x", "--role", "boss")
    assert bad_role.exit_code == 2
    assert "unknown role 'boss'" in bad_role.stderr
    relief.ok("users", "add", "li", "--role", "keeper")
    taken = relief("users", "add", "li", "--role", "keeper")
    assert taken.exit_code == 2
    assert "already exists" in taken.stderr
    monkeypatch.setenv("RELIEF_PASSWORD", "short")
    short = relief("users", "add", "wang", "--role", "keeper")
    assert short.exit_code == 2
    assert "password" in short.stderr
    assert len(json.loads(relief.ok("users", "list", "--json").stdout)) == 1


def test_token_printed_once_opens_the_api(relief: Relief) -> None:
    """`users token` prints only the secret; the server accepts it as that user."""
    relief.ok("users", "add", "wms", "--role", "keeper", "--machine")
    secret = relief.ok("users", "token", "wms", "--name", "sync").stdout.strip()
    assert secret.startswith("rst_")
    settings = Settings(database_url=relief.url, **{"RELIEF_JWT_SECRET": "s" * 40})
    with TestClient(create_app(settings)) as client:  # the lifespan disposes the engine
        me = client.get("/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["username"] == "wms"


def test_jurisdictions_and_a_scoped_user(ledger: Relief) -> None:
    """A city and a county under it, a depot assigned to the county, a keeper scoped to
    it; a county under a county, and an unknown depot, are refused."""
    ledger.ok("jurisdictions", "add", "210300", "鞍山市", "--level", "city")
    ledger.ok("jurisdictions", "add", "210381", "海城市", "--level", "county", "--parent", "210300")
    wrong = ledger("jurisdictions", "add", "210382", "x", "--level", "city", "--parent", "210381")
    assert wrong.exit_code == 2
    assert "parent is higher" in wrong.stderr
    unknown = ledger("jurisdictions", "assign", "210381", "CNTY", "NOPE")
    assert unknown.exit_code == 2
    assert "NOPE" in unknown.stderr
    assert "1 depot(s)" in ledger.ok("jurisdictions", "assign", "210381", "CNTY").stdout
    listed = json.loads(ledger.ok("jurisdictions", "list", "--json").stdout)
    assert [(j["code"], j["level"], j["parent"]) for j in listed] == [
        ("210300", "city", None),
        ("210381", "county", "210300"),
    ]
    ledger.ok("users", "add", "li", "--role", "keeper", "--machine", "--jurisdiction", "210381")
    users = json.loads(ledger.ok("users", "list", "--json").stdout)
    assert [(u["username"], u["jurisdiction"]) for u in users] == [("li", "210381")]
