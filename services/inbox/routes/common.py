"""What every route module shares: the contact in a path, publishing an operator's event."""

from __future__ import annotations

from fastapi import HTTPException

from hilo.phones import InvalidPhoneNumber, to_e164
from schemas import Event
from services.inbox.state import Inbox

# Responses every authenticated route may give, for the OpenAPI document.
AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "not signed in, or unknown token"},
    403: {"description": "this role may not; or missing CSRF token"},
}


def contact_key(raw: str) -> str:
    """The contact's E.164 number from a path or body, or 422 saying why not."""
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as exc:
        raise HTTPException(422, detail=str(exc)) from None


async def publish(state: Inbox, event: Event) -> None:
    """Durably accepted by JetStream before the route answers 202."""
    await state.runtime.publish(event)
