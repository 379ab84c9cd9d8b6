"""Forgetting purges the contact's messages from JetStream, and only theirs."""

from __future__ import annotations

from hilo.bus import EventBus
from hilo.forgetting import purge_from_streams
from schemas import ContactDataErased

ANA, BETO = "c" + "a" * 26, "c" + "b" * 26


async def subjects(bus: EventBus, stream: str) -> list[str]:
    info = await bus.js.stream_info(stream, subjects_filter=">")
    return sorted((info.state.subjects or {}).keys())


async def test_the_contacts_events_and_dead_letters_go(bus: EventBus) -> None:
    await bus.ensure_streams()
    for contact in (ANA, BETO):
        await bus.publish(ContactDataErased(conversation=contact, service="analyzer"))
        original = bus.naming.subject("contact.data_erased", contact)
        await bus.publish_raw(
            bus.naming.dead_letter_subject("analyzer", original),
            b"{}",
            event_id=f"dead-{contact}",
            event_type="contact.data_erased",
        )

    await purge_from_streams(bus, ANA)

    events = await subjects(bus, bus.naming.events_stream)
    assert [s.rsplit(".", 1)[-1] for s in events] == [BETO]
    dead = await subjects(bus, bus.naming.dead_letter_stream)
    assert [s.rsplit(".", 1)[-1] for s in dead] == [BETO]
