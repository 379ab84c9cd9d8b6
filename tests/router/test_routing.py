"""The routing table, row by row, and its promise under any interleaving (hypothesis)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hilo.flowdefs import load_flows
from schemas import (
    CallEnded,
    ContactOptedIn,
    ConversationHandbackRequested,
    ConversationModeChanged,
    ConversationTakeoverRequested,
    Event,
    FlowSessionAbandoned,
    FlowSessionCompleted,
    FlowSessionStarted,
    FlowStartRequested,
    MessageReceived,
    MessageRouted,
)
from services.router import routing
from services.router.handlers import DECIDERS
from services.router.routing import Decision, Holder, Policy

CONTACT = "+34600111222"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FLOW = """
id: intake
name: Alta
language: es
trigger: {keywords: [alta cliente, registro]}
questions: [{id: name, text: "¿Cómo te llamas?"}]
"""
OTHER_FLOW = """
id: claim
name: Reclamación
language: es
trigger: {keywords: [reclamo]}
questions: [{id: what, text: "¿Qué pasó?"}]
"""


def policy(tmp_path: Path) -> Policy:
    (tmp_path / "intake.yaml").write_text(FLOW)
    (tmp_path / "claim.yaml").write_text(OTHER_FLOW)
    return Policy(flows=load_flows(tmp_path), human_idle=timedelta(hours=2))


def message(text: str, at: datetime = T0) -> MessageReceived:
    return MessageReceived(
        conversation=CONTACT,
        occurred_at=at,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        kind="text",
        text=text,
    )


def decide(holder: Holder, event: Event, p: Policy) -> Decision:
    return DECIDERS[type(event)](holder, event, p)


def routed(decision: Decision) -> MessageRouted:
    found = [e for e in decision.events if isinstance(e, MessageRouted)]
    assert len(found) == 1
    return found[0]


def changes(decision: Decision) -> list[ConversationModeChanged]:
    return [e for e in decision.events if isinstance(e, ConversationModeChanged)]


def call(status: str | None = "done", at: datetime = T0, **data: object) -> CallEnded:
    return CallEnded(
        conversation=CONTACT, occurred_at=at, call_id="conv_1", status=status, data_collection=data
    )


def test_a_message_is_answered_by_the_analyzer_by_default(tmp_path: Path) -> None:
    decision = routing.route_message(Holder(), message("Hola"), policy(tmp_path))
    assert routed(decision).answerer == "analyzer"
    assert not changes(decision)


def test_a_finished_call_hands_the_conversation_to_the_voice_agent(tmp_path: Path) -> None:
    p = policy(tmp_path)
    handed = routing.on_call_ended(Holder(), call(), p)
    [change] = changes(handed)
    assert (change.mode, change.reason, change.call_id) == ("voice_agent", "call_ended", "conv_1")
    assert change.expires_at == T0 + timedelta(hours=24)
    reply = routed(routing.route_message(handed.holder, message("Y el precio?"), p))
    assert (reply.answerer, reply.call_id) == ("voice_agent", "conv_1")


def test_a_call_that_never_connected_changes_nothing(tmp_path: Path) -> None:
    assert routing.on_call_ended(Holder(), call(status="failed"), policy(tmp_path)).events == ()


def test_a_call_whose_data_collection_names_a_flow_starts_it(tmp_path: Path) -> None:
    [change] = changes(
        routing.on_call_ended(Holder(), call(flow={"value": "intake"}), policy(tmp_path))
    )
    assert (change.mode, change.reason, change.flow_id) == ("flow", "call_flow", "intake")


def test_a_keyword_starts_its_flow_and_the_keyword_message_is_the_flows(tmp_path: Path) -> None:
    decision = routing.route_message(Holder(), message("¡Registro!"), policy(tmp_path))
    [change] = changes(decision)
    assert (change.mode, change.flow_id, change.reason) == ("flow", "intake", "flow_keyword")
    assert (routed(decision).answerer, routed(decision).reason) == ("flow", "flow_keyword")


def test_another_flows_keyword_inside_a_flow_goes_to_the_flow_without_a_switch(
    tmp_path: Path,
) -> None:
    p = policy(tmp_path)
    in_flow = routing.route_message(Holder(), message("registro"), p).holder
    decision = routing.route_message(in_flow, message("reclamo"), p)
    assert not changes(decision)
    assert (routed(decision).answerer, routed(decision).flow_id) == ("flow", "claim")


def test_a_flows_end_gives_the_conversation_back_only_for_the_current_session(
    tmp_path: Path,
) -> None:
    p = policy(tmp_path)
    started = FlowSessionStarted(
        conversation=CONTACT, session_id=uuid.uuid4(), flow_id="intake", language="es",
        source="api",
    )  # fmt: skip
    holder = routing.on_flow_started(Holder(), started, p).holder
    old = FlowSessionCompleted(conversation=CONTACT, session_id=uuid.uuid4(), flow_id="intake")
    assert routing.on_flow_ended(holder, old, p).events == ()
    done = FlowSessionCompleted(conversation=CONTACT, session_id=started.session_id, flow_id="x")
    [change] = changes(routing.on_flow_ended(holder, done, p))
    assert (change.mode, change.reason) == ("analyzer", "flow_ended")


def test_a_person_holds_the_conversation_until_handback(tmp_path: Path) -> None:
    p = policy(tmp_path)
    take = ConversationTakeoverRequested(
        conversation=CONTACT, operator="ana@clinic.es", occurred_at=T0
    )
    held = routing.on_takeover(Holder(), take, p).holder
    for text in ("Hola", "registro"):  # no keyword starts anything under a person
        decision = routing.route_message(held, message(text), p)
        assert (routed(decision).answerer, routed(decision).operator) == ("human", "ana@clinic.es")
        assert not changes(decision)
    assert routing.on_call_ended(held, call(), p).events == ()
    back = ConversationHandbackRequested(conversation=CONTACT, operator="ana@clinic.es")
    [change] = changes(routing.on_handback(held, back, p))
    assert (change.mode, change.reason) == ("analyzer", "handed_back")


def test_stop_routes_to_nobody_until_the_contact_opts_in(tmp_path: Path) -> None:
    p = policy(tmp_path)
    decision = routing.route_message(Holder(mode="voice_agent"), message("BAJA"), p)
    [change] = changes(decision)
    assert (change.mode, change.reason) == ("nobody", "opted_out")
    assert routed(decision).answerer == "nobody"
    later = routing.route_message(decision.holder, message("Hola?"), p)
    assert routed(later).answerer == "nobody"
    back = routing.on_opted_in(
        later.holder, ContactOptedIn(conversation=CONTACT, keyword="alta"), p
    )
    assert changes(back)[0].mode == "analyzer"


def test_a_quiet_voice_agent_conversation_expires_back_to_the_analyzer(tmp_path: Path) -> None:
    p = policy(tmp_path)
    held = routing.on_call_ended(Holder(), call(), p).holder
    late = routing.route_message(held, message("Hola", at=T0 + timedelta(hours=25)), p)
    [expired] = changes(late)
    assert (expired.mode, expired.reason) == ("analyzer", "expired")
    assert routed(late).answerer == "analyzer"
    # The sweep decides the same event, under the same id.
    swept = routing.expire(held, CONTACT, T0 + timedelta(hours=30))
    assert changes(swept)[0].event_id == expired.event_id


def test_activity_keeps_the_voice_agent(tmp_path: Path) -> None:
    p = policy(tmp_path)
    holder = routing.on_call_ended(Holder(), call(), p).holder
    for hours in (20, 40, 60):
        decision = routing.route_message(holder, message("¿y?", at=T0 + timedelta(hours=hours)), p)
        assert routed(decision).answerer == "voice_agent"
        holder = decision.holder


def test_a_start_request_for_an_unknown_flow_changes_nothing(tmp_path: Path) -> None:
    request = FlowStartRequested(conversation=CONTACT, flow_id="nope", source="api")
    assert routing.on_flow_start_requested(Holder(), request, policy(tmp_path)).events == ()


# --- any interleaving ------------------------------------------------------------------

FACTS = st.sampled_from(
    ["message", "keyword", "stop", "call", "takeover", "handback", "flow_start",
     "flow_done", "opt_in", "late_message"]
)  # fmt: skip


def make_fact(kind: str, at: datetime, p: Policy, holder: Holder) -> Event:
    if kind == "message":
        return message("¿Tenéis hueco?", at)
    if kind == "late_message":
        return message("¿Sigue ahí?", at + timedelta(hours=30))
    if kind == "keyword":
        return message("registro", at)
    if kind == "stop":
        return message("stop", at)
    if kind == "call":
        return call(at=at)
    if kind == "takeover":
        return ConversationTakeoverRequested(conversation=CONTACT, operator="op", occurred_at=at)
    if kind == "handback":
        return ConversationHandbackRequested(conversation=CONTACT, operator="op", occurred_at=at)
    if kind == "flow_start":
        return FlowStartRequested(
            conversation=CONTACT, flow_id="intake", source="api", occurred_at=at
        )
    if kind == "flow_done":
        return FlowSessionAbandoned(
            conversation=CONTACT, session_id=holder.session_id or uuid.uuid4(), flow_id="intake",
            reason="cancelled", occurred_at=at,
        )  # fmt: skip
    return ContactOptedIn(conversation=CONTACT, keyword="alta", occurred_at=at)


@settings(max_examples=300, deadline=None)
@given(
    kinds=st.lists(FACTS, min_size=1, max_size=25),
    redeliveries=st.lists(st.integers(min_value=0, max_value=1000), max_size=10),
)
def test_every_message_gets_exactly_one_assignment_and_repeats_change_nothing(
    tmp_path_factory: object, kinds: list[str], redeliveries: list[int]
) -> None:
    """Replays and redeliveries are skipped by tracking; the holder survives restarts as a row.

    The harness keeps what the router keeps (the holder row, the tracked ids) and feeds the
    facts, re-feeding earlier ones at random points; every decision is recorded by event id.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        p = policy(Path(folder))
    holder, tracked = Holder(), set[uuid.UUID]()
    decided: dict[uuid.UUID, Event] = {}
    assignments: dict[uuid.UUID, MessageRouted] = {}
    delivered: list[Event] = []
    at = T0
    schedule = iter(sorted(redeliveries))
    pending = next(schedule, None)
    for step, kind in enumerate(kinds):
        at += timedelta(minutes=5)
        facts = [make_fact(kind, at, p, holder)]
        while pending is not None and pending <= step and delivered:
            facts.append(delivered[pending % len(delivered)])  # a redelivery or a replay
            pending = next(schedule, None)
        for fact in facts:
            if fact.event_id in tracked:
                continue
            tracked.add(fact.event_id)
            delivered.append(fact)
            decision = decide(holder, fact, p)
            holder = decision.holder
            for event in decision.events:
                assert decided.setdefault(event.event_id, event) == event
                if isinstance(event, MessageRouted):
                    assert event.message_event_id not in assignments
                    assignments[event.message_event_id] = event
    messages = {e.event_id for e in delivered if isinstance(e, MessageReceived)}
    assert set(assignments) == messages
    # The answerer of each message is the mode the conversation had when it was routed.
    for assignment in assignments.values():
        assert assignment.answerer in ("analyzer", "voice_agent", "flow", "human", "nobody")
