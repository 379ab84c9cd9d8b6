"""Who may call the API: a session cookie (with CSRF protection) or a bearer token.

``current_operator`` answers 401 without either; ``require_admin`` answers 403 for an
agent. A cookie-authenticated mutation must echo the session's CSRF token in the
``X-CSRF-Token`` header (the token is also readable by the page in the ``hilo_csrf``
cookie): a form posted from another site carries the cookie but cannot read the token.
Bearer requests carry no ambient credential, so they need no CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from services.inbox.accounts import Operator, same_secret
from services.inbox.state import Inbox, inbox

SESSION_COOKIE = "hilo_session"
CSRF_COOKIE = "hilo_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="a token from `hilo tokens create`")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="POST /api/auth/login")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_operator(
    request: Request,
    state: Annotated[Inbox, Depends(inbox)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_id: Annotated[str | None, Depends(_cookie)],
) -> Operator:
    if bearer is not None:
        operator = await state.accounts.token(bearer.credentials)
        if operator is None:
            raise _unauthorized("unknown or revoked token")
        return operator
    if not session_id:
        raise _unauthorized("sign in (POST /api/auth/login) or send Authorization: Bearer")
    session = await state.accounts.session(session_id)
    if session is None:
        raise _unauthorized("the session has expired; sign in again")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or ""
        if not same_secret(sent, session.csrf_token):
            raise HTTPException(403, detail=f"missing or wrong {CSRF_HEADER} header")
    return session.operator


async def require_admin(operator: Annotated[Operator, Depends(current_operator)]) -> Operator:
    if operator.role != "admin":
        raise HTTPException(403, detail="this needs the admin role")
    return operator


CurrentOperator = Annotated[Operator, Depends(current_operator)]
Admin = Annotated[Operator, Depends(require_admin)]

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Admin",
    "CurrentOperator",
    "Operator",
    "current_operator",
    "require_admin",
]
