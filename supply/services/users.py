"""Users of the server, what each role may do, and how a user proves who they are.

A role is one of five (`Role`); what it permits is the one table `PERMISSIONS`, so a route
asks `may(role, action)` and never tests a role by name. Passwords are hashed with argon2
(pwdlib's recommended settings); API tokens are random secrets of which only the SHA-256
is stored, and are shown once, when created.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from supply.db import utcnow
from supply.errors import Conflict, InvalidInput, NotFound
from supply.limits import NAME_MAX, check_optional_text
from supply.models import ApiToken, Jurisdiction, Role, User
from supply.services.jurisdictions import jurisdiction_by_code


class Action(StrEnum):
    """What a request does, as far as permission goes."""

    READ = "read"  # catalogue, depots, balances, documents
    POST_STOCK = "post_stock"  # receive, issue, transfer, reverse
    EDIT_CATALOGUE = "edit_catalogue"  # items and depots
    PLAN = "plan"  # start plan jobs
    DISPATCH = "dispatch"  # approve plans (reserve stock, call off agreements)
    MANAGE_USERS = "manage_users"


#: Who may do what. The auditor reads everything and changes nothing; a planner runs plans
#: but only a dispatcher (or an admin) approves one, which reserves stock.
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.KEEPER: frozenset({Action.READ, Action.POST_STOCK}),
    Role.DISPATCHER: frozenset({Action.READ, Action.PLAN, Action.DISPATCH}),
    Role.PLANNER: frozenset({Action.READ, Action.PLAN}),
    Role.AUDITOR: frozenset({Action.READ}),
    Role.ADMIN: frozenset(Action),
}

#: An API token's visible prefix: tells a bearer token from a JWT without decoding it.
TOKEN_PREFIX = "rst_"
PASSWORD_MIN = 8
PASSWORD_MAX = 256
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def may(role: str, action: Action) -> bool:
    """Whether a user of `role` may do `action` (an unknown role may do nothing)."""
    try:
        return action in PERMISSIONS[Role(role)]
    except ValueError:
        return False


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the user is unknown, so that a wrong username costs
    as long as a wrong password and a login's timing does not reveal who exists."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput("password", f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long")


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as shown: role, whether they may log in, and their jurisdiction's code."""

    username: str
    display_name: str | None
    role: str
    active: bool
    has_password: bool
    jurisdiction: str | None
    created_at: datetime


def _view(session: Session, user: User) -> UserView:
    code = (
        session.scalar(
            select(col(Jurisdiction.code)).where(col(Jurisdiction.id) == user.jurisdiction_id)
        )
        if user.jurisdiction_id is not None
        else None
    )
    return UserView(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        active=user.active,
        has_password=user.password_hash is not None,
        jurisdiction=code,
        created_at=user.created_at,
    )


def user_by_name(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(col(User.username) == username)).first()
    if user is None:
        raise NotFound("user", username)
    return user


def add_user(
    session: Session,
    *,
    username: str,
    role: Role,
    password: str | None,
    display_name: str | None = None,
    jurisdiction: str | None = None,
) -> UserView:
    """Create a user; without a password it can only act through API tokens (a machine).
    With a jurisdiction (its code), the user releases stock only at its depots and those
    of the jurisdictions below it (`supply.services.jurisdictions`).

    Raises
    ------
    InvalidInput
        A username other than letters, digits, `.`, `_`, `-` (up to 64), or a password
        shorter than 8 or longer than 256 characters.
    NotFound
        No jurisdiction of that code.
    Conflict
        The username is taken.
    """
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            "username", "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter"
        )
    check_optional_text("display_name", display_name, NAME_MAX)
    if password is not None:
        _check_password(password)
    jurisdiction_id = None
    if jurisdiction is not None:
        jurisdiction_id = jurisdiction_by_code(session, jurisdiction).id
    taken = session.scalars(select(col(User.id)).where(col(User.username) == username)).first()
    if taken is not None:
        raise Conflict("username", f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=_hasher().hash(password) if password is not None else None,
        created_at=utcnow(),
        jurisdiction_id=jurisdiction_id,
    )
    session.add(user)
    session.flush()
    return _view(session, user)


def view_user(session: Session, username: str) -> UserView:
    return _view(session, user_by_name(session, username))


def list_users(session: Session) -> list[UserView]:
    return [_view(session, u) for u in session.scalars(select(User).order_by(col(User.username)))]


def disable_user(session: Session, username: str) -> UserView:
    """Stop a user at once: their passwords, access tokens and API tokens are refused from
    the next request on (the server looks the user up on every request)."""
    user = user_by_name(session, username)
    user.active = False
    session.add(user)
    session.flush()
    return _view(session, user)


@dataclass(frozen=True, slots=True)
class NewToken:
    """An API token just made: `secret` is shown this once and never stored."""

    username: str
    name: str
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, username: str, *, name: str) -> NewToken:
    """A new API token for a machine acting as `username`.

    Raises
    ------
    NotFound
        No such user.
    Conflict
        The user is disabled.
    """
    check_optional_text("name", name, 100)
    user = user_by_name(session, username)
    if not user.active:
        raise Conflict("user", f"user {username!r} is disabled")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), created_at=utcnow())
    )
    session.flush()
    return NewToken(username=username, name=name, secret=secret)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None (unknown, disabled, wrong password or a
    machine user without one: the caller cannot tell which, on purpose)."""
    user = session.scalars(select(User).where(col(User.username) == username)).first()
    if user is None or user.password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return None
    if not _hasher().verify(password, user.password_hash):
        return None
    return user if user.active else None


#: The two look-ups every authenticated request makes, built once: building a statement
#: costs more CPU than SQLAlchemy's compiled cache then saves, on every request.
_USER_BY_NAME = select(User).where(col(User.username) == bindparam("username"))
_USER_BY_TOKEN = (
    select(User)
    .join(ApiToken, col(ApiToken.user_id) == col(User.id))
    .where(col(ApiToken.token_hash) == bindparam("token_hash"))
)


def active_user(session: Session, username: str) -> User | None:
    """The user an access token names, if they still exist and are active."""
    user = session.scalars(_USER_BY_NAME, {"username": username}).first()
    return user if user is not None and user.active else None


def user_by_token(session: Session, secret: str) -> User | None:
    """The active user an API token belongs to, or None."""
    user = session.scalars(_USER_BY_TOKEN, {"token_hash": _digest(secret)}).first()
    return user if user is not None and user.active else None


def update_user(
    session: Session,
    username: str,
    *,
    role: Role | None = None,
    display_name: str | None = None,
    jurisdiction: str | None = None,
    clear: frozenset[str] = frozenset(),
) -> UserView:
    """Change a user's role, name or jurisdiction (by code); the names in `clear`
    (`display_name`, `jurisdiction`) are emptied (a jurisdiction emptied: the whole
    bureau). Takes effect from the user's next request.

    Raises
    ------
    NotFound
        No such user, or no jurisdiction of that code.
    InvalidInput
        A name too long, or a field both set and cleared.
    """
    if (display_name is not None and "display_name" in clear) or (
        jurisdiction is not None and "jurisdiction" in clear
    ):
        raise InvalidInput("clear", "a field cannot be both set and cleared")
    user = user_by_name(session, username)
    if role is not None:
        user.role = role.value
    if display_name is not None or "display_name" in clear:
        check_optional_text("display_name", display_name, NAME_MAX)
        user.display_name = display_name
    if jurisdiction is not None:
        user.jurisdiction_id = jurisdiction_by_code(session, jurisdiction).id
    elif "jurisdiction" in clear:
        user.jurisdiction_id = None
    session.add(user)
    session.flush()
    return _view(session, user)
