"""Forgetting a contact (admin only): the same domain function as `hilo contacts forget`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from hilo.forgetting import NotAnnounced, UnknownContact, erasing_services, forget_contact
from hilo.logs import masked
from services.inbox.auth import Admin
from services.inbox.models import ForgetAccepted, Problem
from services.inbox.routes.common import AUTH_ERRORS, contact_key
from services.inbox.state import Inbox, inbox

router = APIRouter(tags=["contacts"], responses=AUTH_ERRORS)
State = Annotated[Inbox, Depends(inbox)]


@router.post(
    "/contacts/{contact}/forget",
    status_code=202,
    response_model=ForgetAccepted,
    responses={404: {"model": Problem}, 422: {"model": Problem}, 503: {"model": Problem}},
)
async def forget(contact: str, operator: Admin, state: State) -> ForgetAccepted:
    """Destroys the contact's keys and records who asked; the services' erasures follow
    (``contact.data_erased``). Forgetting again changes nothing (``already_forgotten``)."""
    number = contact_key(contact)
    runtime = state.runtime
    try:
        forgetting = await forget_contact(
            number,
            requested_by=operator.label,
            pool=runtime.db,
            bus=runtime.bus,
            keys=runtime.codec.keyring,
            pseudonym_of=runtime.codec.stream_of,
        )
    except UnknownContact as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except NotAnnounced as exc:
        raise HTTPException(503, detail=str(exc)) from None
    event = forgetting.event
    return ForgetAccepted(
        contact=masked(number),
        pseudonym=forgetting.pseudonym,
        event_id=event.event_id,
        forgotten_at=event.occurred_at,
        requested_by=event.requested_by,
        keys_destroyed=event.keys_destroyed,
        already_forgotten=forgetting.already_forgotten,
        erasing_services=list(erasing_services()),
    )
