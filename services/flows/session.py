"""A contact's way through a flow, as a pure state machine: (session, input) → decision.

Nothing here does I/O. Each input (an answer, the outside API's answer, an idle timer, a
start) yields the session's next state and the events that say what happened, with ids
derived from the input's key: deciding the same input twice yields the same events, so
the store and JetStream absorb a repeat. The caller keeps the session under a row lock and
records the decision with the input's key, so a redelivery reads the decision back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from hilo.flowdefs import Flow, Question, Text
from schemas import (
    Event,
    FlowAnswerRecorded,
    FlowAnswerRejected,
    FlowAnswerWithdrawn,
    FlowApiAnswered,
    FlowQuestionAsked,
    FlowSessionAbandoned,
    FlowSessionCompleted,
    FlowSessionFailed,
    FlowSessionRestarted,
    FlowSessionStarted,
    FlowSwitchOffered,
    ReplyChoices,
    ReplyOption,
    ReplyReady,
    derived_id,
)
from schemas.flows import FlowStartSource, QuestionReason
from services.flows.answers import Accepted, Value, option_id, read_answer
from services.flows.texts import command_in, example, say, switch_choice

Status = Literal["asking", "awaiting_api", "offering_switch"]
OPTION_PREFIX = "flow:"


class Session(BaseModel):
    """The active session of one contact, as kept in the flows service's own table."""

    model_config = ConfigDict(extra="ignore")

    session_id: uuid.UUID
    flow_id: str
    flow_name: str
    language: str
    # The flow's questions when the session began, plus the outside API's additional ones.
    questions: list[Question]
    answers: dict[str, Value] = {}
    position: int = 0
    round: int = 1
    status: Status = "asking"
    seq: int = 0
    reminded: bool = False
    offered_flow_id: str | None = None
    offered_name: str = ""
    last_activity_at: datetime
    has_api: bool = False
    final_message: Text | None = None
    flow_question_count: int = 0
    # Where the current round's questions begin ("back" stops there) and the last round sent.
    round_start: int = 0
    called_rounds: int = 0

    @property
    def current(self) -> Question:
        return self.questions[self.position]


@dataclass(frozen=True)
class Step:
    """What every event of one decision shares: the input's key, envelope and local time."""

    key: uuid.UUID
    conversation: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    now: datetime  # aware, in the business's time zone


@dataclass(frozen=True)
class Presentation:
    """How questions look on the channels: Twilio Content SIDs by ``flow_id.question_id``."""

    twilio_content_sids: dict[str, str] = field(default_factory=dict)


@dataclass
class Decision:
    session: Session | None  # None: no active session any more
    events: list[Event] = field(default_factory=list)
    call_api_round: int | None = None  # every question answered: call the outside API
    switch_to: str | None = None  # the contact chose the offered flow: start it

    @property
    def ended(self) -> bool:
        return self.session is None


class ApiAnswer(BaseModel):
    """The outside API's answer, validated (see ``outside_api.parse_answer``)."""

    model_config = ConfigDict(frozen=True)

    additional_questions: tuple[Question, ...] = ()
    message: Text | None = None
    final_message: Text | None = None
    continue_conversation: bool | None = None
    status_code: int = 200
    attempts: int = 1


class _Emitter:
    def __init__(self, step: Step, decision: Decision) -> None:
        self.step = step
        self.decision = decision

    def emit(self, cls: type[Event], **fields: Any) -> Any:
        n = len(self.decision.events)
        event = cls(
            event_id=derived_id(self.step.key, f"flows.{n}.{cls.event_type()}"),
            conversation=self.step.conversation,
            correlation_id=self.step.correlation_id,
            causation_id=self.step.causation_id,
            **fields,
        )
        self.decision.events.append(event)
        return event

    def reply(
        self,
        text: str,
        language: str,
        choices: ReplyChoices | None = None,
        *,
        business_initiated: bool = False,
    ) -> ReplyReady:
        n = len(self.decision.events)
        reply: ReplyReady = self.emit(
            ReplyReady,
            reply_id=derived_id(self.step.key, f"flows.{n}.reply"),
            author="flow",
            text=text,
            language=language,
            choices=choices,
            business_initiated=business_initiated,
        )
        return reply


# --- starting ---------------------------------------------------------------------------


def start(
    flow: Flow,
    step: Step,
    *,
    source: FlowStartSource,
    language: str | None,
    previous: Session | None,
    presentation: Presentation,
) -> Decision:
    """A new session (the contact's earlier one, if any, is abandoned as switched)."""
    decision = Decision(None)
    out = _Emitter(step, decision)
    if previous is not None:
        out.emit(
            FlowSessionAbandoned,
            session_id=previous.session_id,
            flow_id=previous.flow_id,
            reason="switched",
        )
    language = language if language in ("es", "en") else flow.language
    session = Session(
        session_id=derived_id(step.key, "flows.session"),
        flow_id=flow.id,
        flow_name=flow.name,
        language=language,
        questions=list(flow.questions),
        last_activity_at=step.now,
        has_api=flow.external_api is not None,
        final_message=flow.final_message,
        flow_question_count=len(flow.questions),
    )
    out.emit(
        FlowSessionStarted,
        session_id=session.session_id,
        flow_id=flow.id,
        language=language,
        source=source,
    )
    decision.session = session
    # Started by an operator or a call, not by the contact: the 24-hour window may be closed,
    # and the notifier then needs a template for this first message.
    _ask(out, session, presentation, "first", business_initiated=source != "keyword")
    return decision


# --- answers ----------------------------------------------------------------------------


def on_message(
    session: Session,
    step: Step,
    *,
    text: str | None,
    reply_id: str | None,
    message_event_id: uuid.UUID,
    presentation: Presentation,
    other_flow: Flow | None = None,
) -> Decision:
    """The contact wrote (or said, transcribed) something while in the session."""
    decision = Decision(session)
    out = _Emitter(step, decision)
    session.last_activity_at = step.now
    session.reminded = False
    language = session.language
    command = command_in(text)
    if command == "cancel":
        return _abandon(out, session, "cancelled", say("cancelled", language))
    if session.status == "awaiting_api":
        out.reply(say("waiting", language), language)
        return decision
    if other_flow is not None and other_flow.id != session.flow_id:
        session.status = "offering_switch"
        session.offered_flow_id = other_flow.id
        session.offered_name = other_flow.name
        out.emit(
            FlowSwitchOffered,
            session_id=session.session_id,
            flow_id=session.flow_id,
            offered_flow_id=other_flow.id,
        )
        offer = say("switch_offer", language, current=session.flow_name, offered=other_flow.name)
        options = (
            ReplyOption(id="flows:switch", title=say("switch_yes", language)),
            ReplyOption(id="flows:stay", title=say("switch_no", language)),
        )
        body = offer.split("\n1.")[0]
        out.reply(offer, language, ReplyChoices(body=body, options=options))
        return decision
    if session.status == "offering_switch":
        choice = switch_choice(text, reply_id)
        if choice is None:
            again = say(
                "switch_offer", language, current=session.flow_name, offered=session.offered_name
            )
            out.reply(again, language)
            return decision
        target = session.offered_flow_id
        session.status = "asking"
        session.offered_flow_id = None
        if choice:
            decision.switch_to = target  # the caller starts it (the current one is abandoned)
            return decision
        _ask(out, session, presentation, "continue")
        return decision
    if other_flow is not None:  # this flow's own keyword again: where we are
        _ask(out, session, presentation, "again")
        return decision
    if command == "restart":
        session.answers = {}
        session.position = 0
        session.round_start = 0
        # A round already POSTed keeps its number (and its Idempotency-Key): the next is new.
        session.round = session.called_rounds + 1
        session.questions = session.questions[: _flow_question_count(session)]
        out.emit(FlowSessionRestarted, session_id=session.session_id, flow_id=session.flow_id)
        _ask(out, session, presentation, "restart", prefix=say("restart", language))
        return decision
    if command == "back":
        if session.position > session.round_start:  # earlier rounds went to the API already
            session.position -= 1
            withdrawn = session.current.id
            session.answers.pop(withdrawn, None)
            out.emit(
                FlowAnswerWithdrawn,
                session_id=session.session_id,
                flow_id=session.flow_id,
                question_id=withdrawn,
            )
        _ask(out, session, presentation, "back")
        return decision
    question = session.current
    if command == "skip" and not question.required:
        return _record(out, session, question, None, message_event_id, presentation)
    if command == "skip":
        return _reject(out, session, question, "required", message_event_id, presentation)
    reading = read_answer(
        question,
        text,
        language=language,
        now=step.now,
        reply_id=reply_id,
        option_prefix=OPTION_PREFIX,
    )
    if isinstance(reading, Accepted):
        return _record(out, session, question, reading.value, message_event_id, presentation)
    return _reject(out, session, question, reading.reason, message_event_id, presentation)


def on_unreadable(
    session: Session, step: Step, message_event_id: uuid.UUID, presentation: Presentation
) -> Decision:
    """A picture, a sticker, a voice note that could not be transcribed: ask again."""
    decision = Decision(session)
    out = _Emitter(step, decision)
    if session.status != "asking":
        return decision
    return _reject(out, session, session.current, "not_text", message_event_id, presentation)


def _record(
    out: _Emitter,
    session: Session,
    question: Question,
    value: Value,
    message_event_id: uuid.UUID,
    presentation: Presentation,
) -> Decision:
    session.answers[question.id] = value
    out.emit(
        FlowAnswerRecorded,
        session_id=session.session_id,
        flow_id=session.flow_id,
        question_id=question.id,
        value=value,
        round=session.round,
        message_event_id=message_event_id,
    )
    if session.position + 1 < len(session.questions):
        session.position += 1
        _ask(out, session, presentation, "next")
        return out.decision
    if session.has_api:
        session.status = "awaiting_api"
        session.called_rounds = session.round
        out.decision.call_api_round = session.round
        return out.decision
    return _complete(out, session, final=session.final_message)


def _reject(
    out: _Emitter,
    session: Session,
    question: Question,
    reason: str,
    message_event_id: uuid.UUID,
    presentation: Presentation,
) -> Decision:
    out.emit(
        FlowAnswerRejected,
        session_id=session.session_id,
        flow_id=session.flow_id,
        question_id=question.id,
        reason=reason,
        message_event_id=message_event_id,
    )
    language = session.language
    explanation = say(reason if reason in _REASONS else "invalid", language)
    hint = question.hint.in_language(language) if question.hint else example(reason, language)
    if hint:
        explanation = f"{explanation} {hint}"
    _ask(out, session, presentation, "again", prefix=explanation)
    return out.decision


_REASONS = frozenset(
    {"invalid_email", "not_a_number", "not_a_date", "not_an_option", "empty", "not_text"}
    | {"required"}
)


# --- the outside API ----------------------------------------------------------------------


def api_payload(session: Session, contact: str, completed_at: datetime) -> dict[str, Any]:
    """The body of the round's POST, exactly as CONTRACT.md Part 2 names it."""
    return {
        "session_id": str(session.session_id),
        "flow": session.flow_id,
        "contact": contact,
        "language": session.language,
        "answers": dict(session.answers),
        "round": session.round,
        "completed_at": completed_at.isoformat(),
    }


def on_api_answer(
    session: Session, step: Step, answer: ApiAnswer, presentation: Presentation
) -> Decision:
    decision = Decision(session)
    out = _Emitter(step, decision)
    session.last_activity_at = step.now
    completes = (
        answer.final_message is not None
        or answer.continue_conversation is False
        or not answer.additional_questions
    )
    out.emit(
        FlowApiAnswered,
        session_id=session.session_id,
        flow_id=session.flow_id,
        round=session.round,
        status_code=answer.status_code,
        attempts=answer.attempts,
        additional_questions=len(answer.additional_questions),
        completes=completes,
    )
    language = session.language
    if answer.message is not None:
        out.reply(answer.message.in_language(language), language)
    if completes:
        final = answer.final_message
        if final is None and answer.message is None:
            final = session.final_message
        return _complete(out, session, final=final)
    session.status = "asking"
    session.round += 1
    session.position = session.round_start = len(session.questions)
    session.questions = [*session.questions, *answer.additional_questions]
    _ask(out, session, presentation, "next")
    return decision


def on_api_failed(session: Session, step: Step, reason: str, apology: str) -> Decision:
    decision = Decision(None)
    out = _Emitter(step, decision)
    out.emit(
        FlowSessionFailed, session_id=session.session_id, flow_id=session.flow_id, reason=reason
    )
    out.reply(apology, session.language)
    return decision


# --- time and interruptions ---------------------------------------------------------------


def on_idle(session: Session, step: Step, presentation: Presentation) -> Decision:
    """The session's deadline passed: one reminder, then it is abandoned."""
    decision = Decision(session)
    out = _Emitter(step, decision)
    if session.status == "awaiting_api":
        return decision
    if not session.reminded:
        session.reminded = True
        if session.status == "offering_switch":
            session.status = "asking"
            session.offered_flow_id = None
        _ask(out, session, presentation, "reminder", prefix=say("reminder", session.language))
        return decision
    return _abandon(out, session, "timed_out", say("timed_out", session.language))


def interrupt(session: Session, step: Step) -> Decision:
    """Someone else answers the contact now (a person, the voice agent, an opt-out)."""
    decision = Decision(None)
    _Emitter(step, decision).emit(
        FlowSessionAbandoned,
        session_id=session.session_id,
        flow_id=session.flow_id,
        reason="interrupted",
    )
    return decision


# --- shared steps ---------------------------------------------------------------------------


def _abandon(out: _Emitter, session: Session, reason: Any, goodbye: str) -> Decision:
    out.emit(
        FlowSessionAbandoned, session_id=session.session_id, flow_id=session.flow_id, reason=reason
    )
    out.reply(goodbye, session.language)
    out.decision.session = None
    return out.decision


def _complete(out: _Emitter, session: Session, *, final: Text | None) -> Decision:
    language = session.language
    if final is not None:
        out.reply(final.in_language(language), language)
    elif not any(isinstance(e, ReplyReady) for e in out.decision.events):
        out.reply(say("done", language), language)
    out.emit(FlowSessionCompleted, session_id=session.session_id, flow_id=session.flow_id)
    out.decision.session = None
    return out.decision


def _flow_question_count(session: Session) -> int:
    """Restarting drops the outside API's additional questions: round 1 asks the flow's own."""
    return session.flow_question_count or len(session.questions)


def _ask(
    out: _Emitter,
    session: Session,
    presentation: Presentation,
    reason: QuestionReason,
    *,
    prefix: str | None = None,
    business_initiated: bool = False,
) -> None:
    question = session.current
    language = session.language
    asked = question.text.in_language(language)
    if not question.required:
        asked = f"{asked} {say('skip_hint', language)}"
    choices = None
    text = asked
    if question.type == "choice":
        titles = [o.in_language(language) for o in question.options]
        text = asked + "\n" + "\n".join(f"{n}. {t}" for n, t in enumerate(titles, 1))
        choices = ReplyChoices(
            body=asked,
            options=tuple(
                ReplyOption(id=option_id(OPTION_PREFIX, question.id, i), title=title)
                for i, title in enumerate(titles)
            ),
            list_button=say("list_button", language),
            twilio_content_sid=presentation.twilio_content_sids.get(
                f"{session.flow_id}.{question.id}"
            ),
        )
    if prefix:
        text = f"{prefix}\n\n{text}"
    session.seq += 1
    reply = out.reply(text, language, choices, business_initiated=business_initiated)
    out.emit(
        FlowQuestionAsked,
        session_id=session.session_id,
        flow_id=session.flow_id,
        question_id=question.id,
        question_type=question.type,
        text=asked,
        round=session.round,
        seq=session.seq,
        reason=reason,
        reply_id=reply.reply_id,
    )
