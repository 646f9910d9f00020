"""Logging in: the OAuth2 password flow, answered with a short-lived access token."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from api.http.auth import issue_access_token
from api.http.deps import ReadSession, StateDep
from api.http.problems import problem_responses
from supply.services.users import authenticate

router = APIRouter(prefix="/auth", tags=["auth 登录"])


class TokenRead(BaseModel):
    """An access token to send as `Authorization: Bearer <access_token>`."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.", examples=[1800])


@router.post("/token", responses=problem_responses(401, 422))
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: ReadSession,
    state: StateDep,
) -> TokenRead:
    """Exchange a username and password for an access token.

    Writes nothing, so an `Idempotency-Key` is not needed here.
    """
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(
            401,
            "wrong username or password, or the user is disabled",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = issue_access_token(
        user.username, user.role, secret=state.secret, minutes=state.settings.access_token_minutes
    )
    return TokenRead(access_token=token.token, expires_in=token.expires_in_s)
