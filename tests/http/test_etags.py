"""Editable resources (users, depots, jurisdictions) carry an ETag; a change needs
If-Match: 428 without it, 412 with a stale one, and nothing changes then."""

import pytest

from tests.http.conftest import Api, is_problem

#: (resource, a change to PATCH or PUT, the method, a field the change sets)
CASES = [
    ("/users/planner", {"display_name": "规划员"}, "PATCH", ("display_name", "规划员")),
    (
        "/depots/COUNTY",
        {"code": "COUNTY", "name": "县库", "tier": "county", "parent_code": "CITY"},
        "PUT",
        ("name", "县库"),
    ),
]


@pytest.mark.parametrize(("path", "change", "method", "field"), CASES)
def test_change_needs_the_etag_last_read(
    api: Api, path: str, change: dict[str, object], method: str, field: tuple[str, str]
) -> None:
    """No If-Match: 428; the current ETag: changed, with a new ETag; the old one again:
    412, and the resource is as the first change left it."""
    admin = api.client("admin")
    read = admin.get(path)
    assert read.status_code == 200, read.text
    tag = read.headers["etag"]
    assert is_problem(admin.request(method, path, json=change), 428)
    done = admin.request(method, path, json=change, headers={"If-Match": tag})
    assert done.status_code == 200, done.text
    assert done.json()[field[0]] == field[1]
    assert done.headers["etag"] not in (tag, None)
    stale = admin.request(method, path, json=change, headers={"If-Match": tag})
    assert is_problem(stale, 412)
    assert admin.get(path).headers["etag"] == done.headers["etag"]


def test_user_jurisdiction_can_be_set_and_cleared(api: Api) -> None:
    """A jurisdiction sent scopes the user; null returns them to the whole bureau."""
    admin = api.client("admin")
    assert (
        admin.post(
            "/jurisdictions", json={"code": "210381", "name": "海城市", "level": "county"}
        ).status_code
        == 201
    )
    for value in ("210381", None):
        tag = admin.get("/users/keeper").headers["etag"]
        done = admin.patch("/users/keeper", json={"jurisdiction": value}, headers={"If-Match": tag})
        assert done.status_code == 200, done.text
        assert done.json()["jurisdiction"] == value


def test_depot_put_refuses_a_body_of_another_code(api: Api) -> None:
    """The path names the depot; a body naming another is a 422 problem."""
    admin = api.client("admin")
    answer = admin.put(
        "/depots/COUNTY",
        json={"code": "CITY", "name": "x", "tier": "city"},
        headers={"If-Match": "*"},
    )
    assert is_problem(answer, 422)
