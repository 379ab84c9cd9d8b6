"""The JSON API under /api: one module per concern, all thin (decode, read or publish)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.inbox.auth import CurrentOperator
from services.inbox.routes import auth, contacts, conversations, flows, insights, stream, tasks

router = APIRouter(prefix="/api")
for module in (auth, conversations, tasks, insights, flows, stream, contacts):
    router.include_router(module.router)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, _: CurrentOperator) -> JSONResponse:
    return JSONResponse(request.app.openapi())
