"""Who may call what: every endpoint of the OpenAPI × every role, and how users log in.

The matrix below has one row per operation; the test enumerates the app's OpenAPI, so an
endpoint added without a row fails here until someone decides who may call it.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt

from optimizer.plan_document import PlanDocument, ShipmentDoc
from supply.db import session_scope, utcnow
from supply.models import Level, Role
from supply.services import jurisdictions, plan_jobs, users
from tests.http.conftest import (
    ADMIN_PASSWORD,
    LATE,
    SECRET,
    Api,
    agreement_with_call_offs,
    aid_counties,
    is_problem,
    new_job,
    new_loan,
    receive,
)
from tests.http.test_dispatch import VEHICLE, routed_plan
from tests.http.test_variants import HAICHENG, SHELTERS, XLSX, scenarios_copy, workbook

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, *(r.value for r in Role)]
EVERYONE = frozenset(ROLES)
LOGGED_IN = frozenset(r.value for r in Role)
ADMIN = frozenset({Role.ADMIN.value})
KEEPERS = frozenset({Role.KEEPER.value, Role.ADMIN.value})
PLANNERS = frozenset({Role.DISPATCHER.value, Role.PLANNER.value, Role.ADMIN.value})
DISPATCHERS = frozenset({Role.DISPATCHER.value, Role.ADMIN.value})


@dataclass(frozen=True)
class Row:
    """Who may call an operation, its success status, and a valid request for a role."""

    allowed: frozenset[str]
    ok: int
    request: Callable[[str, dict[str, str]], dict[str, Any]]


def _get(path: str, **params: Any) -> Callable[[str, dict[str, str]], dict[str, Any]]:
    return lambda _role, _made: {"url": path, "params": params}


def _post(
    path: str, body: Callable[[str], dict[str, Any]]
) -> Callable[[str, dict[str, str]], dict[str, Any]]:
    return lambda role, _made: {"url": path, "json": body(role)}


ITEM = {
    "code": "WATER",
    "name_zh": "饮用水",
    "name_en": "Drinking water",
    "category": "food_water",
    "unit": "case",
    "unit_weight_kg": 13.2,
    "unit_volume_m3": 0.02,
    "shelf_life_days": 365,
}

MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/health"): Row(EVERYONE, 200, _get("/health")),
    ("POST", "/auth/token"): Row(
        EVERYONE,
        200,
        lambda _r, _m: {
            "url": "/auth/token",
            "data": {"username": "admin", "password": ADMIN_PASSWORD},
        },
    ),
    ("GET", "/users/me"): Row(LOGGED_IN, 200, _get("/users/me")),
    ("GET", "/users"): Row(ADMIN, 200, _get("/users")),
    ("POST", "/users"): Row(
        ADMIN, 201, _post("/users", lambda role: {"username": f"new-{role}", "role": "keeper"})
    ),
    ("POST", "/users/{username}/disable"): Row(
        ADMIN, 200, _post("/users/victim/disable", lambda _role: {})
    ),
    ("POST", "/users/{username}/tokens"): Row(
        ADMIN, 201, _post("/users/planner/tokens", lambda role: {"name": f"by-{role}"})
    ),
    ("GET", "/jurisdictions"): Row(LOGGED_IN, 200, _get("/jurisdictions")),
    ("POST", "/jurisdictions"): Row(
        ADMIN,
        201,
        _post(
            "/jurisdictions", lambda _role: {"code": "210381", "name": "海城市", "level": "county"}
        ),
    ),
    ("POST", "/jurisdictions/{code}/depots"): Row(
        ADMIN, 200, _post("/jurisdictions/210300/depots", lambda _role: {"depots": ["CITY"]})
    ),
    ("GET", "/categories"): Row(LOGGED_IN, 200, _get("/categories")),
    ("GET", "/items"): Row(LOGGED_IN, 200, _get("/items")),
    ("GET", "/items/{code}"): Row(LOGGED_IN, 200, _get("/items/WATER")),
    ("POST", "/items"): Row(ADMIN, 201, _post("/items", lambda _role: ITEM)),
    ("GET", "/depots"): Row(LOGGED_IN, 200, _get("/depots")),
    ("GET", "/depots/tree"): Row(LOGGED_IN, 200, _get("/depots/tree")),
    ("POST", "/depots"): Row(
        ADMIN,
        201,
        _post("/depots", lambda _role: {"code": "TOWN", "name": "镇库", "tier": "township"}),
    ),
    ("GET", "/balances"): Row(LOGGED_IN, 200, _get("/balances", depot="COUNTY")),
    ("GET", "/balances/totals"): Row(LOGGED_IN, 200, _get("/balances/totals")),
    ("GET", "/documents/{number}"): Row(
        LOGGED_IN, 200, lambda _role, made: {"url": f"/documents/{made['stock']}"}
    ),
    ("GET", "/documents/{number}/print"): Row(
        LOGGED_IN, 200, lambda _role, made: {"url": f"/documents/{made['stock']}/print"}
    ),
    ("POST", "/documents/stocktakes"): Row(
        KEEPERS,
        201,
        _post(
            "/documents/stocktakes",
            lambda _role: {
                "depot": "COUNTY",
                "lines": [{"item": "WATER", "lot": "W1", "counted": 99}],
            },
        ),
    ),
    ("POST", "/documents/receipts"): Row(
        KEEPERS,
        201,
        _post(
            "/documents/receipts",
            lambda _role: {
                "depot": "COUNTY",
                "item": "WATER",
                "qty": 5,
                "lot": "W2",
                "expires_on": LATE,
            },
        ),
    ),
    ("POST", "/documents/issues"): Row(
        KEEPERS,
        201,
        _post("/documents/issues", lambda _role: {"depot": "COUNTY", "item": "WATER", "qty": 1}),
    ),
    ("POST", "/documents/transfers"): Row(
        KEEPERS,
        201,
        _post(
            "/documents/transfers",
            lambda _role: {"source": "COUNTY", "destination": "CITY", "item": "WATER", "qty": 1},
        ),
    ),
    ("POST", "/documents/{number}/reversal"): Row(
        KEEPERS,
        201,
        lambda role, made: {"url": f"/documents/{made[role]}/reversal", "json": {}},
    ),
    ("GET", "/jurisdictions/{code}"): Row(LOGGED_IN, 200, _get("/jurisdictions/210300")),
    ("PATCH", "/jurisdictions/{code}"): Row(
        ADMIN,
        200,
        lambda _r, _m: {
            "url": "/jurisdictions/210300",
            "json": {"shares_with_neighbours": True},
            "headers": {"If-Match": "*"},
        },
    ),
    ("POST", "/jurisdictions/{code}/neighbours"): Row(
        ADMIN, 200, _post("/jurisdictions/310101/neighbours", lambda _r: {"neighbours": ["310102"]})
    ),
    ("GET", "/aid/loans"): Row(LOGGED_IN, 200, _get("/aid/loans")),
    ("GET", "/aid/loans/{number}"): Row(
        LOGGED_IN, 200, lambda _role, made: {"url": f"/aid/loans/{made['loan']}"}
    ),
    ("POST", "/aid/loans"): Row(
        KEEPERS,
        201,
        _post(
            "/aid/loans",
            lambda _role: {
                "borrower": "310101",
                "lender": "310102",
                "destination": "A-DEP",
                "lines": [{"item": "TENT", "qty": 5}],
                "disaster": "flood",
                "needed_by": LATE,
            },
        ),
    ),
    ("POST", "/aid/loans/{number}/approval"): Row(
        KEEPERS,
        200,
        lambda role, made: {
            "url": f"/aid/loans/{made[f'ask-{role}']}/approval",
            "json": {"source": "B-DEP"},
        },
    ),
    ("POST", "/aid/loans/{number}/refusal"): Row(
        KEEPERS,
        200,
        lambda role, made: {
            "url": f"/aid/loans/{made[f'refuse-{role}']}/refusal",
            "json": {"reason": "needed here"},
        },
    ),
    ("POST", "/aid/loans/{number}/return"): Row(
        KEEPERS,
        200,
        lambda role, made: {"url": f"/aid/loans/{made[f'lent-{role}']}/return", "json": {}},
    ),
    ("POST", "/aid/loans/{number}/settlement"): Row(
        KEEPERS,
        200,
        lambda role, made: {"url": f"/aid/loans/{made[f'kept-{role}']}/settlement", "json": {}},
    ),
    ("GET", "/users/{username}"): Row(ADMIN, 200, _get("/users/planner")),
    ("PATCH", "/users/{username}"): Row(
        ADMIN,
        200,
        lambda _r, _m: {
            "url": "/users/victim",
            "json": {"display_name": "受害者"},
            "headers": {"If-Match": "*"},
        },
    ),
    ("GET", "/depots/{code}"): Row(LOGGED_IN, 200, _get("/depots/COUNTY")),
    ("PUT", "/depots/{code}"): Row(
        ADMIN,
        200,
        lambda _r, _m: {
            "url": "/depots/CITY",
            "json": {"code": "CITY", "name": "市库", "tier": "city"},
            "headers": {"If-Match": "*"},
        },
    ),
    ("GET", "/rotation/due"): Row(LOGGED_IN, 200, _get("/rotation/due", within_days=3650)),
    ("GET", "/agreements"): Row(LOGGED_IN, 200, _get("/agreements")),
    ("GET", "/agreements/owed"): Row(LOGGED_IN, 200, _get("/agreements/owed")),
    ("POST", "/agreements/settlements"): Row(
        DISPATCHERS, 201, _post("/agreements/settlements", lambda _r: {})
    ),
    ("POST", "/agreements/{code}/call-offs"): Row(
        DISPATCHERS, 201, _post("/agreements/AG-W/call-offs", lambda _r: {"qty": 1})
    ),
    ("POST", "/agreements/{code}/inspections"): Row(
        KEEPERS,
        201,
        _post(
            "/agreements/AG-W/inspections",
            lambda role: {"inspected_on": "2026-11-30", "inspector": role, "verified_qty": 9000},
        ),
    ),
    ("GET", "/call-offs/expected"): Row(LOGGED_IN, 200, _get("/call-offs/expected")),
    ("POST", "/call-offs/{number}/receipt"): Row(
        KEEPERS,
        201,
        lambda role, made: {
            "url": f"/call-offs/{made[f'call-off-{role}']}/receipt",
            "json": {"lot": f"CO-{role}", "expires_on": LATE},
        },
    ),
    ("GET", "/quotas"): Row(LOGGED_IN, 200, _get("/quotas")),
    ("GET", "/quotas/gaps"): Row(LOGGED_IN, 200, _get("/quotas/gaps")),
    ("POST", "/readiness"): Row(
        LOGGED_IN,
        200,
        _post(
            "/readiness",
            lambda _r: {"norms": [{"item": "WATER", "per_person": "1.5", "per": "day"}]},
        ),
    ),
    ("GET", "/fleet"): Row(LOGGED_IN, 200, _get("/fleet")),
    ("GET", "/scenarios"): Row(LOGGED_IN, 200, _get("/scenarios")),
    ("GET", "/scenarios/{name}"): Row(LOGGED_IN, 200, _get("/scenarios/tiny")),
    ("POST", "/plans"): Row(
        PLANNERS,
        202,
        _post("/plans", lambda _role: {"scenario": "tiny", "routes": False, "time_limit_s": 2}),
    ),
    ("GET", "/plans"): Row(LOGGED_IN, 200, _get("/plans")),
    ("GET", "/plans/{job_id}"): Row(
        LOGGED_IN, 200, lambda _role, made: {"url": f"/plans/{made['failed-job']}"}
    ),
    ("GET", "/plans/{job_id}/events"): Row(
        LOGGED_IN, 200, lambda _role, made: {"url": f"/plans/{made['failed-job']}/events"}
    ),
    ("POST", "/plans/{job_id}/cancel"): Row(
        PLANNERS,
        200,
        lambda role, made: {"url": f"/plans/{made[f'queued-{role}']}/cancel", "json": {}},
    ),
    ("GET", "/plans/{job_id}/plan"): Row(
        LOGGED_IN, 200, lambda role, made: {"url": f"/plans/{made[f'job-{role}']}/plan"}
    ),
    ("GET", "/plans/{job_id}/results"): Row(
        LOGGED_IN, 200, lambda role, made: {"url": f"/plans/{made[f'job-{role}']}/results"}
    ),
    ("GET", "/plans/{job_id}/results/{name}"): Row(
        LOGGED_IN,
        200,
        lambda role, made: {"url": f"/plans/{made[f'job-{role}']}/results/plan.json"},
    ),
    ("POST", "/plans/{job_id}/approval"): Row(
        DISPATCHERS,
        201,
        lambda role, made: {"url": f"/plans/{made[f'job-{role}']}/approval", "json": {}},
    ),
    ("GET", "/scenarios/{name}/layers/{layer}.geojson"): Row(
        LOGGED_IN, 200, _get("/scenarios/tiny/layers/shelters.geojson")
    ),
    ("GET", "/plans/{job_id}/layers/{layer}.geojson"): Row(
        LOGGED_IN,
        200,
        lambda role, made: {"url": f"/plans/{made[f'job-{role}']}/layers/tours.geojson"},
    ),
    ("GET", "/dispatch/plans"): Row(LOGGED_IN, 200, _get("/dispatch/plans")),
    ("GET", "/dispatch/plans/{number}"): Row(
        LOGGED_IN, 200, lambda _role, made: {"url": f"/dispatch/plans/{made['dp-admin']}"}
    ),
    ("POST", "/dispatch/plans/{number}/departures"): Row(
        DISPATCHERS,
        201,
        lambda role, made: {
            "url": f"/dispatch/plans/{made[f'dp-{role}']}/departures",
            "json": {"vehicle": VEHICLE, "trip": 1},
        },
    ),
    ("POST", "/dispatch/plans/{number}/deliveries"): Row(
        DISPATCHERS,
        201,
        lambda role, made: {
            "url": f"/dispatch/plans/{made[f'dp-gone-{role}']}/deliveries",
            "json": {"vehicle": VEHICLE, "stop": 1},
        },
    ),
    ("POST", "/dispatch/plans/{number}/cancel"): Row(
        DISPATCHERS,
        200,
        lambda role, made: {"url": f"/dispatch/plans/{made[f'dp-x-{role}']}/cancel"},
    ),
    ("POST", "/scenarios/{name}/variants"): Row(
        PLANNERS,
        201,
        lambda _r, _m: {
            "url": "/scenarios/tiny/variants",
            "content": workbook(shelters=SHELTERS),
            "headers": {"Content-Type": XLSX},
        },
    ),
    ("POST", "/scenarios/{name}/closures"): Row(
        PLANNERS, 201, _post(f"/scenarios/{HAICHENG}/closures", lambda _r: {"roads": [1]})
    ),
}


def _done_job(api: Api, name: str) -> str:
    """A finished plan job whose plan ships one unit of COUNTY's lot W1 (approvable)."""
    document = PlanDocument(
        name=name,
        status="optimal",
        shipments=[
            ShipmentDoc(
                source="COUNTY", source_kind="depot", lot="W1", shelter="SH", item="WATER", qty=1
            )
        ],
        routes=[],
    )
    with session_scope(api.engine) as session:
        job_id = new_job(session, "test")
        plan_jobs.start(session, job_id)
        plan_jobs.finish(
            session, job_id, plan_json=json.dumps(document.to_json_dict()), summary=name
        )
        return str(job_id)


def _queued_job(api: Api) -> str:
    """A queued job no runner will start (it was never submitted)."""
    with session_scope(api.engine) as session:
        job_id = new_job(session, "test")
        return str(job_id)


def _failed_job(api: Api) -> str:
    with session_scope(api.engine) as session:
        job_id = new_job(session, "test")
        plan_jobs.fail(session, job_id, "for the matrix")
        return str(job_id)


def _operations(api: Api) -> set[tuple[str, str]]:
    paths = api.app.openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def test_matrix_has_a_row_for_every_endpoint(api: Api) -> None:
    """Every operation in the OpenAPI has a row, and every row is an operation."""
    assert _operations(api) == set(MATRIX)


def test_every_role_gets_the_expected_status_at_every_endpoint(api: Api, tmp_path: Path) -> None:
    """Allowed roles succeed; others get 403 (401 without a token), as problem+json."""
    scenarios_copy(api, tmp_path)
    with session_scope(api.engine) as session:
        users.add_user(session, username="victim", role=Role.KEEPER, password=None)
        jurisdictions.add_jurisdiction(session, code="210300", name="鞍山市", level=Level.CITY)
    # At CITY, which nothing issues from, so each reversal finds its stock still there.
    made = {role: receive(api, 10, lot=f"R-{role}", depot="CITY") for role in ROLES}
    made["stock"] = receive(api, 100)
    made["failed-job"] = _failed_job(api)
    aid_counties(api)
    made["loan"] = new_loan(api)
    numbers = agreement_with_call_offs(api, len(ROLES))
    made.update({f"call-off-{role}": n for role, n in zip(ROLES, numbers, strict=True)})
    for role in ROLES:
        for use, approved in (("ask", False), ("refuse", False), ("lent", True), ("kept", True)):
            made[f"{use}-{role}"] = new_loan(api, approved=approved)
    receive(api, 100)  # lot W1 for the routed plans below (5 units each)
    for role in ROLES:
        made[f"job-{role}"] = _done_job(api, f"matrix-{role}")
        made[f"queued-{role}"] = _queued_job(api)
        for use, gone in (("dp", False), ("dp-gone", True), ("dp-x", False)):
            made[f"{use}-{role}"] = routed_plan(api, f"{use}-{role}", departed=gone)
    wrong: list[str] = []
    for (method, path), row in sorted(MATRIX.items()):
        for role in ROLES:
            client = api.client(None if role == ANONYMOUS else role)
            answer = client.request(method, **row.request(role, made))
            if role in row.allowed:
                expected = row.ok
                good = answer.status_code == expected
            else:
                expected = 401 if role == ANONYMOUS else 403
                good = is_problem(answer, expected)
            if not good:
                wrong.append(f"{method} {path} as {role}: {answer.status_code}, not {expected}")
    assert wrong == []


def test_login_issues_a_token_that_identifies_the_user(api: Api) -> None:
    """The password flow answers a bearer token; with it, /users/me is the admin."""
    client = api.client()
    answer = client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert (me.json()["username"], me.json()["role"]) == ("admin", "admin")


def test_wrong_password_and_machine_user_cannot_log_in(api: Api) -> None:
    """A wrong password, an unknown user and a user without a password all get 401."""
    client = api.client()
    for username, password in (
        ("admin", "not-the-password"),
        ("nobody", ADMIN_PASSWORD),
        ("keeper", ADMIN_PASSWORD),
    ):
        answer = client.post("/auth/token", data={"username": username, "password": password})
        assert is_problem(answer, 401), (username, answer.text)


def test_expired_or_forged_token_is_refused(api: Api) -> None:
    """A token past its expiry, or signed with another secret, is a 401 problem."""
    now = utcnow()
    expired = jwt.encode(
        {"sub": "admin", "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
        SECRET,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"sub": "admin", "exp": now + timedelta(hours=1)}, "another-secret-" * 4, "HS256"
    )
    for token in (expired, forged):
        answer = api.client().get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert is_problem(answer, 401)
        assert answer.headers["www-authenticate"] == "Bearer"


def test_disabled_user_is_refused_at_once(api: Api) -> None:
    """Disabling a keeper stops their unexpired access token and their API token."""
    admin = api.client("admin")
    secret = admin.post("/users/keeper/tokens", json={"name": "scanner"}).json()["secret"]
    assert admin.post("/users/keeper/disable", json={}).status_code == 200
    assert is_problem(api.client("keeper").get("/users/me"), 401)
    by_token = api.client().get("/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert is_problem(by_token, 401)
