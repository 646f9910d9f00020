"""Answers to POSTs carrying an `Idempotency-Key`, kept so a retried request is answered
again instead of being done again.

The key is also handed to the ledger as the document's own idempotency key, so a key is
one document whichever face (CLI or HTTP) posted it; this table adds what the ledger
cannot know: the exact answer, for writes that are not one document (a reversal, a new
user), and for an issue whose stock has since gone (replaying it through the ledger would
pick lots again and be refused). Keys are global, like the ledger's.
"""

import hashlib
import json

from sqlalchemy import select, text
from sqlmodel import Session, col

from supply.db import utcnow
from supply.errors import InvalidInput
from supply.limits import KEY_MAX, check_text
from supply.models import IdempotentRequest


def fingerprint(*parts: str | bytes) -> str:
    """A hash of what makes two requests the same request (user, method, path, body)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def answered(session: Session, key: str, print_: str) -> IdempotentRequest | None:
    """The stored answer for `key`, or None if the key is new.

    On PostgreSQL a transaction-scoped advisory lock on the key is taken first, so two
    requests with one key at the same time are answered one after the other (the second
    from the first's stored answer); SQLite's writers are serialised already.

    Raises
    ------
    InvalidInput
        The key is too long or holds control characters, or it was used for another
        request (another path, body or user): answering with that request's result would
        hide that this one was never done.
    """
    check_text("Idempotency-Key", key, KEY_MAX)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 12))"), {"key": key}
        )
    stored = session.scalars(
        select(IdempotentRequest).where(col(IdempotentRequest.key) == key)
    ).first()
    if stored is not None and stored.fingerprint != print_:
        raise InvalidInput(
            "Idempotency-Key",
            f"{key!r} was already used for another request; use a new key for this one",
        )
    return stored


def remember(
    session: Session,
    *,
    key: str,
    user_id: int,
    print_: str,
    status_code: int,
    body: object,
) -> None:
    """Keep the answer given to a request (in the request's own transaction)."""
    session.add(
        IdempotentRequest(
            key=key,
            user_id=user_id,
            fingerprint=print_,
            status_code=status_code,
            body=json.dumps(body, ensure_ascii=False),
            created_at=utcnow(),
        )
    )
    session.flush()
