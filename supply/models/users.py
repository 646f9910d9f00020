"""The people and machines that use the server, and the HTTP requests it has answered.

A password is kept only as an argon2 hash; an API token only as the SHA-256 of its secret
(tokens are long random strings, so a fast hash is enough and lets the server find one by
index). A replayed `Idempotency-Key` is answered from `idempotent_request`, written in the
same transaction as the write it records.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, String, Text
from sqlmodel import Field, SQLModel

from supply.db import UTCDateTime


class Role(StrEnum):
    """What a user may do (see `supply.services.users.PERMISSIONS`)."""

    KEEPER = "keeper"  # 库管员
    DISPATCHER = "dispatcher"  # 调度员
    PLANNER = "planner"  # 规划人员
    AUDITOR = "auditor"  # 审计 (reads everything, changes nothing)
    ADMIN = "admin"  # 管理员


_ROLES = ", ".join(f"'{r.value}'" for r in Role)


class User(SQLModel, table=True):
    """A person (password) or a machine (API tokens only, no password)."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLES})", name="role_known"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str | None = Field(default=None, max_length=200)
    role: str = Field(sa_type=String(16))
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: The jurisdiction whose depots the user may release stock from (and those below it);
    #: None for the whole bureau.
    jurisdiction_id: int | None = Field(default=None, foreign_key="jurisdiction.id")


class ApiToken(SQLModel, table=True):
    """A long-lived secret for a machine; revoked by disabling its user."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class IdempotentRequest(SQLModel, table=True):
    """The answer given to a POST carrying an `Idempotency-Key`, replayed for the same key.

    `fingerprint` is a hash of the method, path and body: the same key with another request
    is refused rather than answered with an unrelated response.
    """

    __tablename__ = "idempotent_request"

    key: str = Field(primary_key=True, max_length=200)
    user_id: int = Field(foreign_key="app_user.id")
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
