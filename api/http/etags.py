"""`ETag` and `If-Match` on editable resources: a client changes what it last read, or is
told that someone changed it first (412), instead of overwriting their change unseen.

The tag is a digest of the resource as the API shows it, so it changes exactly when what a
client could read changes, and needs no version column. A change without `If-Match` is
refused (428): every resource that takes one is new, so no earlier client sends none.
"""

import hashlib
import json
from typing import Annotated

from fastapi import Header, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=200,
        description="The `ETag` of the resource as last read (or `*`); required.",
    ),
]


def etag(resource: BaseModel) -> str:
    """A strong tag of the resource's JSON (keys sorted)."""
    body = json.dumps(resource.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def tagged(response: Response, resource: BaseModel) -> None:
    response.headers["ETag"] = etag(resource)


def matches(header: str | None, tag: str) -> bool:
    """Whether an `If-Match` / `If-None-Match` header names `tag` (or `*`), weak tags
    compared by their value."""
    if header is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or tag.removeprefix("W/") in tags


def check_if_match(if_match: str | None, current: BaseModel) -> None:
    """Refuse a change unless `If-Match` names the current tag (or is `*`)."""
    if if_match is None:
        raise HTTPException(428, "send If-Match with the ETag of the resource as last read")
    if not matches(if_match, etag(current)):
        raise HTTPException(
            412, "the resource changed since it was read: read it again (new ETag) and retry"
        )
