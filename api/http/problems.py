"""Every error the server gives is an RFC 9457 problem (`application/problem+json`).

Services refuse with `SupplyError` subclasses that name the field and the reason; here each
becomes a problem with that status, so a client reads one shape whatever went wrong, and a
refused over-issue says how much was available and how much was asked for.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from supply.errors import InsufficientStock, ReplayMismatch, SupplyError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Titles a person reads: Chinese first, English beside.
TITLES: dict[int, str] = {
    400: "请求无效 Bad request",
    401: "未登录 Not authenticated",
    403: "无权限 Forbidden",
    404: "未找到 Not found",
    405: "方法不允许 Method not allowed",
    409: "冲突 Conflict",
    412: "已被修改 Precondition failed",
    422: "输入无效 Invalid input",
    428: "需要 If-Match Precondition required",
    500: "服务器错误 Internal server error",
    503: "暂不可用 Service unavailable",
}
INSUFFICIENT_STOCK = "库存不足 Insufficient stock"


class FieldError(BaseModel):
    """One invalid input: where (`body.qty`, `query.limit`) and why."""

    field: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem; extension members depend on `type`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", examples=["urn:relief:problem:insufficient-stock"])
    title: str = Field(examples=[INSUFFICIENT_STOCK])
    status: int = Field(examples=[409])
    detail: str | None = Field(
        default=None,
        examples=[
            "insufficient stock at depot HC-COUNTY, item WATER, all usable lots: "
            "available 40, requested 100"
        ],
    )
    field: str | None = Field(default=None, examples=["qty"])
    errors: list[FieldError] | None = None
    available: int | None = Field(default=None, examples=[40])
    requested: int | None = Field(default=None, examples=[100])


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "model": Problem,
            "description": TITLES.get(code, ""),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }


#: The problems every authenticated route may answer with (for OpenAPI).
AUTH_PROBLEMS = problem_responses(401, 403, 422)
#: Those of a route that writes through a service.
WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 422)


def problem(
    status: int,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _slug(exc: SupplyError) -> str:
    name = type(exc).__name__
    return "urn:relief:problem:" + "".join(
        "-" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name)
    )


def _supply_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SupplyError)
    extra: dict[str, Any] = {"field": exc.field}
    title = None
    if isinstance(exc, InsufficientStock):
        title = INSUFFICIENT_STOCK
        extra.update(
            depot=exc.depot,
            item=exc.item,
            lot=exc.lot,
            available=exc.available,
            requested=exc.requested,
        )
    elif isinstance(exc, ReplayMismatch):
        extra.update(number=exc.number, fields=exc.fields)
    return problem(exc.status_code, exc.reason, type_=_slug(exc), title=title, **extra)


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _path(e.get("loc", ())), "reason": str(e.get("msg", ""))} for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "reason": "invalid request"}
    return problem(
        422,
        f"{first['field']}: {first['reason']}",
        type_="urn:relief:problem:invalid-input",
        field=first["field"],
        errors=errors,
    )


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    """A unique key raced by two requests at once: the loser's work was rolled back."""
    log.warning("integrity error: %s", exc)
    return problem(
        409,
        "another request changed the same record at the same time; nothing was written, "
        "send the request again",
        type_="urn:relief:problem:concurrent-change",
    )


def _operational_error(_request: Request, exc: Exception) -> JSONResponse:
    """The database refused or timed out (locked past the busy timeout, unreachable, or
    missing a table because `relief db upgrade` was not run); the log says which."""
    log.error("database error: %s", exc)
    return problem(
        503,
        "the database refused or did not answer in time; nothing was written "
        "(the server's log says why)",
    )


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "an unexpected error; nothing was written")


def install(app: FastAPI) -> None:
    app.add_exception_handler(SupplyError, _supply_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(Exception, _unexpected)
