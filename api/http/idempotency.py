"""The `Idempotency-Key` header of every POST: a retried request is answered, not redone.

The route's work runs in the request's transaction; its answer is stored in the same one
(`supply.services.idempotency`), so either both the write and its answer are kept or
neither is. A refusal (4xx) is not stored: nothing was written, and the same request may
succeed later (stock received meanwhile).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from api.http.deps import CurrentUser
from supply.services.idempotency import answered, fingerprint, remember

REPLAYED_HEADER = "Idempotent-Replayed"

KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Any unique string (a UUID): the same request sent again with it is "
        "answered as the first time and done once. For stock documents it is also the "
        "ledger's idempotency key (as `relief stock ... --key`).",
    ),
]


@dataclass(frozen=True, slots=True)
class Idempotent:
    """The key of a POST (if any) and the fingerprint of the request it must stay with."""

    key: str | None
    print_: str
    user_id: int

    def run(
        self,
        session: Session,
        work: Callable[[], BaseModel],
        *,
        status_code: int = 201,
        stored: Callable[[BaseModel], BaseModel] | None = None,
    ) -> JSONResponse:
        """Answer from the stored answer for this key, or do `work` and keep its answer.

        `stored` shapes what is kept, when the answer holds what must not be stored (a new
        API token's secret).
        """
        if self.key is not None:
            earlier = answered(session, self.key, self.print_)
            if earlier is not None:
                return JSONResponse(
                    json.loads(earlier.body),
                    status_code=earlier.status_code,
                    headers={REPLAYED_HEADER: "true"},
                )
        result = work()
        body = result.model_dump(mode="json")
        if self.key is not None:
            kept = stored(result).model_dump(mode="json") if stored else body
            remember(
                session,
                key=self.key,
                user_id=self.user_id,
                print_=self.print_,
                status_code=status_code,
                body=kept,
            )
        return JSONResponse(body, status_code=status_code)


async def _idempotent(request: Request, user: CurrentUser, key: KeyHeader = None) -> Idempotent:
    body = await request.body()
    assert user.id is not None
    print_ = fingerprint(str(user.id), request.method, request.url.path, body)
    return Idempotent(key=key, print_=print_, user_id=user.id)


IdempotentDep = Annotated[Idempotent, Depends(_idempotent)]
