"""Access tokens (short-lived JWTs signed with HS256) and the secret that signs them.

A JWT names the user; the server still looks the user up on every request, so disabling a
user stops their tokens at once rather than when the tokens expire.
"""

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jwt

from supply.db import sqlite_path, utcnow
from supply.errors import InvalidInput
from supply.settings import Settings

ALGORITHM = "HS256"


def secret_file(database_url: str) -> Path | None:
    """Where a SQLite ledger's generated signing secret lives: beside the ledger file."""
    path = sqlite_path(database_url)
    return None if path is None else path.with_name(path.name + ".jwt-secret")


def signing_secret(settings: Settings) -> str:
    """The secret that signs access tokens.

    `RELIEF_JWT_SECRET` when set. Otherwise, for a SQLite ledger (a keeper's machine, a
    trial), one is generated once and kept beside the ledger file (mode 0600), so tokens
    survive a restart without any set-up. A PostgreSQL server has several workers and
    perhaps several hosts, which must share one secret: there it must be set.

    Raises
    ------
    InvalidInput
        No secret is set and the database is not a SQLite file.
    """
    if settings.jwt_secret:
        return settings.jwt_secret
    path = secret_file(settings.database_url)
    if path is None:
        raise InvalidInput(
            "RELIEF_JWT_SECRET",
            "set RELIEF_JWT_SECRET (32 characters or more, the same for every worker) to "
            "serve a database other than a SQLite file",
        )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < 32:
            raise InvalidInput("RELIEF_JWT_SECRET", f"{path} holds no usable secret") from None
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret + "\n")
    return secret


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in_s: int


def issue_access_token(username: str, role: str, *, secret: str, minutes: int) -> AccessToken:
    now = utcnow()
    claims = {
        "sub": username,
        "role": role,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return AccessToken(jwt.encode(claims, secret, algorithm=ALGORITHM), minutes * 60)


def token_subject(token: str, *, secret: str) -> str | None:
    """The username a valid, unexpired access token names; None for any other token."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None
