"""What routes are given: a session (one transaction per request), the user, the permission.

A write request gets `WriteSession`: one transaction, committed when the route returns and
rolled back if it raises, before the answer is sent (so a client never reads "posted" for
a document that a failed commit lost). A read gets `ReadSession`, which on SQLite never
waits for a writer.
"""

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.exceptions import HTTPException

from api.http.auth import token_subject
from api.http.jobs import JobRunner
from supply.db import read_scope, session_scope
from supply.models import User
from supply.services.users import TOKEN_PREFIX, Action, active_user, may, user_by_token
from supply.settings import Settings


@dataclass(frozen=True, slots=True)
class ServerState:
    """What a running app holds: built once by `create_app`, never at import."""

    settings: Settings
    engine: Engine
    secret: str
    runner: JobRunner


async def get_state(request: Request) -> ServerState:
    """Async because it does no I/O: FastAPI runs a plain `def` dependency in a worker
    thread, a hop that costs more CPU than the lookup itself (as does `require`'s check)."""
    state: ServerState = request.app.state.relief
    return state


StateDep = Annotated[ServerState, Depends(get_state)]


def _read_session(state: StateDep) -> Iterator[Session]:
    with read_scope(state.engine) as session:
        yield session


def _write_session(state: StateDep) -> Iterator[Session]:
    with session_scope(state.engine) as session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session, scope="function")]
WriteSession = Annotated[Session, Depends(_write_session, scope="function")]

oauth2 = OAuth2PasswordBearer(
    tokenUrl="auth/token",
    auto_error=False,
    description="An access token from POST /auth/token, or an API token (rst_...).",
)


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def current_user(state: StateDep, token: Annotated[str | None, Depends(oauth2)]) -> User:
    """The active user the bearer token belongs to; 401 otherwise."""
    if not token:
        raise _unauthorised("log in first: send Authorization: Bearer <token>")
    with read_scope(state.engine) as session:
        if token.startswith(TOKEN_PREFIX):
            user = user_by_token(session, token)
        else:
            subject = token_subject(token, secret=state.secret)
            user = active_user(session, subject) if subject is not None else None
    if user is None:
        raise _unauthorised("the token is unknown, expired or its user is disabled")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(action: Action) -> Callable[[User], Coroutine[None, None, User]]:
    """A dependency giving the current user if their role permits `action`; 403 otherwise."""

    async def allowed(user: CurrentUser) -> User:
        if not may(user.role, action):
            raise HTTPException(403, f"a {user.role} may not {action.value.replace('_', ' ')}")
        return user

    return allowed


Reader = Annotated[User, Depends(require(Action.READ))]
Keeper = Annotated[User, Depends(require(Action.POST_STOCK))]
CatalogueEditor = Annotated[User, Depends(require(Action.EDIT_CATALOGUE))]
UserManager = Annotated[User, Depends(require(Action.MANAGE_USERS))]
Planner = Annotated[User, Depends(require(Action.PLAN))]
Dispatcher = Annotated[User, Depends(require(Action.DISPATCH))]
