"""Sign-in, sign-out and who am I; the operator list for admins."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from services.inbox import accounts
from services.inbox.auth import CSRF_COOKIE, SESSION_COOKIE, Admin, CurrentOperator
from services.inbox.models import LoginIn, LoginOut, OperatorAccount, OperatorOut, Problem
from services.inbox.state import Inbox, inbox

router = APIRouter(tags=["auth"])


def operator_out(operator: accounts.Operator) -> OperatorOut:
    return OperatorOut(id=operator.id, name=operator.name, role=operator.role, via=operator.via)


@router.post(
    "/auth/login",
    response_model=LoginOut,
    responses={401: {"model": Problem}, 429: {"model": Problem}},
)
async def login(
    body: LoginIn, request: Request, response: Response, state: Annotated[Inbox, Depends(inbox)]
) -> LoginOut:
    settings = state.settings
    window = timedelta(seconds=settings.inbox_login_window_seconds)
    email = body.email.strip().lower()
    address = request.client.host if request.client else "unknown"
    keys = [f"email:{email}", f"ip:{address}"]
    failures = await state.accounts.recent_failures(keys, window)
    if (
        failures.get(keys[0], 0) >= settings.inbox_login_max_failures
        or failures.get(keys[1], 0) >= settings.inbox_login_max_failures_per_address
    ):
        raise HTTPException(
            429,
            detail="too many failed sign-ins; try again later",
            headers={"Retry-After": str(settings.inbox_login_window_seconds)},
        )
    account = await state.accounts.password_hash(email)
    # Argon2 takes tens of milliseconds of CPU: off the event loop.
    matches = await asyncio.to_thread(
        accounts.password_matches, account[2] if account else None, body.password
    )
    if account is None or not matches:
        await state.accounts.record_failure(keys, window)
        raise HTTPException(401, detail="wrong e-mail or password")
    await state.accounts.forget_failures(keys[0])
    session_id, csrf_token = accounts.new_secret(), accounts.new_secret()
    lifetime = timedelta(hours=settings.inbox_session_hours)
    await state.accounts.open_session(account[0], session_id, csrf_token, lifetime)
    seconds = int(lifetime.total_seconds())
    secure = settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=seconds,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE, csrf_token, max_age=seconds, httponly=False, samesite="lax", secure=secure
    )
    operator = accounts.Operator(str(account[0]), email, account[1], "session")
    return LoginOut(operator=operator_out(operator), csrf_token=csrf_token)


@router.post("/auth/logout", status_code=204, responses={401: {"model": Problem}})
async def logout(
    operator: CurrentOperator,
    request: Request,
    response: Response,
    state: Annotated[Inbox, Depends(inbox)],
) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if operator.via == "session" and session_id:
        await state.accounts.close_session(session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/auth/me", response_model=OperatorOut, responses={401: {"model": Problem}})
async def me(operator: CurrentOperator) -> OperatorOut:
    return operator_out(operator)


@router.get(
    "/operators",
    response_model=list[OperatorAccount],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
async def operators(_: Admin, state: Annotated[Inbox, Depends(inbox)]) -> list[OperatorAccount]:
    return [
        OperatorAccount(id=i, email=e, role=r, created_at=c)
        for i, e, r, c in await state.accounts.operators()
    ]
