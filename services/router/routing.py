"""Who answers: the routing table as pure functions. No I/O.

Every function takes the conversation's current holder and one fact, and returns the new
holder and the events that record the decision. Ids are derived from what caused them,
so deciding the same fact again (a redelivery that slipped past tracking) yields the
very same events, which every dedupe layer absorbs. The table is in README.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hilo.consent import OptKeywords
from hilo.flowdefs import FlowSet
from schemas import (
    CallEnded,
    ContactOptedIn,
    ContactOptedOut,
    ConversationHandbackRequested,
    ConversationModeChanged,
    ConversationTakeoverRequested,
    Event,
    FlowSessionAbandoned,
    FlowSessionCompleted,
    FlowSessionFailed,
    FlowSessionReset,
    FlowSessionStarted,
    FlowStartRequested,
    MessageReceived,
    MessageRouted,
    Mode,
    derived_id,
)

FlowEnded = FlowSessionCompleted | FlowSessionAbandoned | FlowSessionFailed | FlowSessionReset

# Modes that a finished call or a flow may take over; a person and an opt-out are not
# interrupted by automation.
AUTOMATIC: frozenset[Mode] = frozenset({"analyzer", "voice_agent", "flow"})


@dataclass(frozen=True)
class Holder:
    """Who answers the conversation now, and until when."""

    mode: Mode = "analyzer"
    mode_event_id: uuid.UUID | None = None
    call_id: str | None = None
    flow_id: str | None = None
    session_id: uuid.UUID | None = None
    operator: str | None = None
    last_activity_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Policy:
    """What the router's settings decide: idle times, keywords, the flows."""

    flows: FlowSet = field(default_factory=FlowSet)
    opt_keywords: OptKeywords = field(default_factory=OptKeywords.build)
    voice_agent_idle: timedelta | None = timedelta(hours=24)
    human_idle: timedelta | None = None
    call_flow_field: str = "flow"

    def idle_for(self, mode: Mode) -> timedelta | None:
        if mode == "voice_agent":
            return self.voice_agent_idle
        if mode == "human":
            return self.human_idle
        return None


@dataclass(frozen=True)
class Decision:
    holder: Holder
    events: tuple[Event, ...] = ()


def _change(
    holder: Holder,
    cause: Event,
    policy: Policy,
    *,
    mode: Mode,
    reason: str,
    **context: Any,
) -> tuple[Holder, ConversationModeChanged]:
    """The new holder, and the mode change that records it: keyed by the cause and the
    reason (``router.<reason>``), dated by the cause, so deciding again yields the same."""
    at = cause.occurred_at
    purpose = f"router.{reason}"
    idle = policy.idle_for(mode)
    session_id = context.pop("session_id", None)
    changed = ConversationModeChanged(
        event_id=derived_id(cause.event_id, purpose),
        conversation=cause.conversation,
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
        occurred_at=at,
        mode=mode,
        reason=reason,
        previous_mode=holder.mode,
        expires_at=at + idle if idle else None,
        **context,
    )
    new = Holder(
        mode=mode,
        mode_event_id=changed.event_id,
        call_id=changed.call_id,
        flow_id=changed.flow_id,
        session_id=session_id,
        operator=changed.operator,
        last_activity_at=at,
        expires_at=changed.expires_at,
    )
    return new, changed


def _expire(holder: Holder, conversation: str, at: datetime) -> Decision:
    """Back to automatic answering if the holder's time ran out before ``at``."""
    if holder.expires_at is None or at < holder.expires_at or holder.mode_event_id is None:
        return Decision(holder)
    changed = ConversationModeChanged(
        # Keyed by the mode change that expires: the sweep and a late message agree.
        event_id=derived_id(holder.mode_event_id, "router.expired"),
        conversation=conversation,
        correlation_id=derived_id(holder.mode_event_id, "router.expired.correlation"),
        causation_id=holder.mode_event_id,
        occurred_at=holder.expires_at,
        mode="analyzer",
        reason="expired",
        previous_mode=holder.mode,
    )
    return Decision(Holder(mode_event_id=changed.event_id, last_activity_at=at), (changed,))


def expire(holder: Holder, conversation: str, now: datetime) -> Decision:
    """The sweep's decision for a quiet conversation (no fact arrived to carry it)."""
    return _expire(holder, conversation, now)


def route_message(holder: Holder, message: MessageReceived, policy: Policy) -> Decision:
    """Decide who answers one inbound message (and whether the mode changes with it)."""
    at = message.occurred_at
    expired = _expire(holder, message.conversation, at)
    holder, events = expired.holder, list(expired.events)
    text = message.text if message.kind == "text" else None
    opt = policy.opt_keywords.match(text)
    routed_to: Mode
    reason = "mode"
    flow_id: str | None = None
    if opt is not None and opt[0] == "opt_out" and holder.mode != "nobody":
        holder, changed = _change(holder, message, policy, mode="nobody", reason="opted_out")
        events.append(changed)
        routed_to, reason = "nobody", "opt_out_keyword"
    elif holder.mode in ("nobody", "human"):
        routed_to = holder.mode
    elif (flow := policy.flows.triggered_by(text)) is not None:
        routed_to, reason, flow_id = "flow", "flow_keyword", flow.id
        if holder.mode != "flow":
            holder, changed = _change(
                holder, message, policy, mode="flow", reason="flow_keyword", flow_id=flow.id
            )
            events.append(changed)
    else:
        routed_to = holder.mode
    if routed_to == holder.mode:
        # Activity keeps an idle-bounded mode (voice agent, person) alive.
        idle = policy.idle_for(holder.mode)
        holder = replace(holder, last_activity_at=at, expires_at=at + idle if idle else None)
    events.append(
        MessageRouted(
            event_id=derived_id(message.event_id, "router.routed"),
            conversation=message.conversation,
            correlation_id=message.correlation_id,
            causation_id=message.event_id,
            occurred_at=at,
            message_event_id=message.event_id,
            answerer=routed_to,
            reason=reason,
            mode_event_id=holder.mode_event_id,
            call_id=holder.call_id if routed_to == "voice_agent" else None,
            flow_id=flow_id or (holder.flow_id if routed_to == "flow" else None),
            operator=holder.operator if routed_to == "human" else None,
        )
    )
    return Decision(holder, tuple(events))


def _call_flow(call: CallEnded, policy: Policy) -> str | None:
    """The flow a finished call's data collection names, if it is a known flow."""
    value = call.data_collection.get(policy.call_flow_field)
    if isinstance(value, dict):  # ElevenLabs results: {"value": …, "rationale": …}
        value = value.get("value")
    if isinstance(value, str) and policy.flows.get(value.strip()) is not None:
        return value.strip()
    return None


def on_call_ended(holder: Holder, call: CallEnded, policy: Policy) -> Decision:
    at = call.occurred_at
    expired = _expire(holder, call.conversation, at)
    holder, events = expired.holder, list(expired.events)
    if not call.completed or holder.mode not in AUTOMATIC:
        return Decision(holder, tuple(events))
    if holder.call_id == call.call_id:
        return Decision(holder, tuple(events))  # the same call reported again (another id)
    flow_id = _call_flow(call, policy)
    if flow_id is not None:
        holder, changed = _change(
            holder,
            call,
            policy,
            mode="flow",
            reason="call_flow",
            flow_id=flow_id,
            call_id=call.call_id,
        )
    else:
        holder, changed = _change(
            holder, call, policy, mode="voice_agent", reason="call_ended", call_id=call.call_id
        )
    return Decision(holder, (*events, changed))


def on_flow_start_requested(
    holder: Holder, request: FlowStartRequested, policy: Policy
) -> Decision:
    if holder.mode == "nobody" or policy.flows.get(request.flow_id) is None:
        return Decision(holder)
    holder, changed = _change(
        holder, request, policy, mode="flow", reason="flow_requested", flow_id=request.flow_id
    )
    return Decision(holder, (changed,))


def on_flow_started(holder: Holder, started: FlowSessionStarted, policy: Policy) -> Decision:
    """The flows service began a session: the flow holds the conversation, with its id."""
    if holder.mode not in AUTOMATIC:
        return Decision(holder)
    if holder.mode == "flow" and holder.flow_id == started.flow_id:
        # The session this router's own change asked for: remember which one it is.
        return Decision(replace(holder, session_id=started.session_id))
    holder, changed = _change(
        holder,
        started,
        policy,
        mode="flow",
        reason="flow_started",
        flow_id=started.flow_id,
        session_id=started.session_id,
    )
    return Decision(holder, (changed,))


def on_flow_ended(holder: Holder, ended: FlowEnded, policy: Policy) -> Decision:
    """A session's end gives the conversation back, unless it is not the current one."""
    if holder.mode != "flow":
        return Decision(holder)
    session = getattr(ended, "session_id", None)
    if session is not None and holder.session_id is not None and session != holder.session_id:
        return Decision(holder)
    holder, changed = _change(holder, ended, policy, mode="analyzer", reason="flow_ended")
    return Decision(holder, (changed,))


def on_takeover(holder: Holder, request: ConversationTakeoverRequested, policy: Policy) -> Decision:
    if holder.mode == "human" and holder.operator == request.operator:
        return Decision(holder)
    holder, changed = _change(
        holder, request, policy, mode="human", reason="taken_over", operator=request.operator
    )
    return Decision(holder, (changed,))


def on_handback(holder: Holder, request: ConversationHandbackRequested, policy: Policy) -> Decision:
    if holder.mode != "human":
        return Decision(holder)
    holder, changed = _change(holder, request, policy, mode="analyzer", reason="handed_back")
    return Decision(holder, (changed,))


def on_opted_out(holder: Holder, fact: ContactOptedOut, policy: Policy) -> Decision:
    """Consent withdrawn by another path than a keyword message (a provider's error)."""
    if holder.mode == "nobody":
        return Decision(holder)
    holder, changed = _change(holder, fact, policy, mode="nobody", reason="opted_out")
    return Decision(holder, (changed,))


def on_opted_in(holder: Holder, fact: ContactOptedIn, policy: Policy) -> Decision:
    if holder.mode != "nobody":
        return Decision(holder)
    holder, changed = _change(holder, fact, policy, mode="analyzer", reason="opted_in")
    return Decision(holder, (changed,))
