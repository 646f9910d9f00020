"""Users and their API tokens (admins), and who am I (everyone)."""

from datetime import datetime

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import CurrentUser, ReadSession, UserManager, WriteSession
from api.http.etags import IfMatch, check_if_match, tagged
from api.http.idempotency import IdempotentDep
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import AUTH_PROBLEMS, WRITE_PROBLEMS, problem_responses
from supply.errors import InvalidInput
from supply.models import Role
from supply.services import users

router = APIRouter(prefix="/users", tags=["users 用户"])

Username = Path(max_length=64)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str | None
    role: Role
    active: bool
    jurisdiction: str | None = Field(
        description="The jurisdiction's code whose depots the user posts at (and those "
        "below it); null for the whole bureau."
    )
    created_at: datetime


class UserCreate(BaseModel):
    """A person (with a password) or a machine (no password: API tokens only)."""

    username: str = Field(min_length=1, max_length=64, examples=["li.keeper"])
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=256)
    display_name: str | None = Field(default=None, max_length=200, examples=["李库管"])
    jurisdiction: str | None = Field(default=None, max_length=12, examples=["210381"])


class UserUpdate(BaseModel):
    """What an admin may change of a user; a field left out stays, one sent as null is
    emptied (a null jurisdiction: the whole bureau)."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=200)
    jurisdiction: str | None = Field(default=None, max_length=12, examples=["210381"])


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["wms-sync"])


class TokenRead(BaseModel):
    """A new API token. `secret` is shown once; a replayed request answers it as null."""

    username: str
    name: str
    secret: str | None


@router.get("/me", responses=AUTH_PROBLEMS)
def me(user: CurrentUser, session: ReadSession) -> UserRead:
    return UserRead.model_validate(users.view_user(session, user.username))


@router.get("", responses=AUTH_PROBLEMS)
def list_users(
    _user: UserManager, session: ReadSession, limit: Limit = 100, cursor: Cursor = None
) -> Page[UserRead]:
    rows, next_cursor = paginate(
        users.list_users(session), key=lambda u: (u.username,), limit=limit, cursor=cursor
    )
    return Page(items=[UserRead.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.post("", status_code=201, response_model=UserRead, responses=WRITE_PROBLEMS)
def add_user(
    body: UserCreate, _user: UserManager, session: WriteSession, idem: IdempotentDep
) -> object:
    return idem.run(
        session,
        lambda: UserRead.model_validate(
            users.add_user(
                session,
                username=body.username,
                role=body.role,
                password=body.password,
                display_name=body.display_name,
                jurisdiction=body.jurisdiction,
            )
        ),
    )


@router.post(
    "/{username}/disable", status_code=200, response_model=UserRead, responses=WRITE_PROBLEMS
)
def disable_user(
    _user: UserManager, session: WriteSession, idem: IdempotentDep, username: str = Username
) -> object:
    return idem.run(
        session,
        lambda: UserRead.model_validate(users.disable_user(session, username)),
        status_code=200,
    )


@router.post(
    "/{username}/tokens", status_code=201, response_model=TokenRead, responses=WRITE_PROBLEMS
)
def create_token(
    body: TokenCreate,
    _user: UserManager,
    session: WriteSession,
    idem: IdempotentDep,
    username: str = Username,
) -> object:
    def made() -> TokenRead:
        token = users.create_token(session, username, name=body.name)
        return TokenRead(username=token.username, name=token.name, secret=token.secret)

    def without_secret(answer: BaseModel) -> BaseModel:
        assert isinstance(answer, TokenRead)
        return answer.model_copy(update={"secret": None})

    return idem.run(session, made, stored=without_secret)


@router.get("/{username}", responses=problem_responses(401, 403, 404, 422))
def get_user(
    _user: UserManager, session: ReadSession, response: Response, username: str = Username
) -> UserRead:
    """One user, with an `ETag` to send back as `If-Match` when changing them."""
    found = UserRead.model_validate(users.view_user(session, username))
    tagged(response, found)
    return found


@router.patch("/{username}", responses=problem_responses(401, 403, 404, 412, 422, 428))
def update_user(
    body: UserUpdate,
    _user: UserManager,
    session: WriteSession,
    response: Response,
    if_match: IfMatch = None,
    username: str = Username,
) -> UserRead:
    """Change a user's role, name or jurisdiction. Needs `If-Match` (428 without; 412 if
    the user changed since read)."""
    check_if_match(if_match, UserRead.model_validate(users.view_user(session, username)))
    sent = body.model_fields_set
    if "role" in sent and body.role is None:
        raise InvalidInput("role", "a user always has a role")
    changed = UserRead.model_validate(
        users.update_user(
            session,
            username,
            role=body.role,
            display_name=body.display_name,
            jurisdiction=body.jurisdiction,
            clear=frozenset(
                f
                for f in ("display_name", "jurisdiction")
                if f in sent and getattr(body, f) is None
            ),
        )
    )
    tagged(response, changed)
    return changed
