"""Calendar events agreed across several messages (slot filling). Pure.

The contact's messages are read in order. A message that asks for a meeting, call or demo
opens a draft; later messages fill its day, time, end and topic ("Quiero agendar una
reunión" … "El viernes a las 10" … "Revisión del proyecto"). A message that moves an
event ("¿podemos pasarla al viernes?", "push it to Tuesday") changes its day and reopens
its time, keeping the old time unless a new one is given; "cancelar" / "cancel" cancels
it. The business's messages are context only: they ask ("¿sobre qué tema?") and propose
("¿a las 10 te va bien?"), the contact decides.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hilo.dates import (
    Clock,
    find_day,
    find_duration,
    find_range,
    find_time,
    mentions_next_week_without_day,
)
from services.analyzer.models import (
    AgreedEvent,
    Conversation,
    ConversationMessage,
    EventKind,
    Missing,
)
from services.analyzer.rules import titles
from services.analyzer.rules.classify import PROBLEM
from services.analyzer.rules.text import fold

# What the contact asks for, and the kind of event it is.
_CALL = re.compile(
    r"\b(?:llamada|llamda|llamadita|call|phone call|llamarme|llamarnos|llamame|llamenme|call me"
    r"|(?:le|te|lo|la|les) (?:llama|llamo|llamamos|llamara|llamaremos|puede llamar)"
    r"|ring me|(?:me|nos) (?:puedes |puede |podeis |podrias |podrian |pueden )?llamar)\b"
)
_DEMO = re.compile(r"\b(?:demo|demos|demostracion|demonstration|walkthrough)\b")
_MEETING = re.compile(
    r"\b(?:cita|reunion|reunirme|reunirnos|reunirnos|juntarnos|vernos|asesoria|visita|entrevista"
    r"|sesion|meeting|meet|appointment|consultation|kickoff|kick-off|session|catch up|get together"
    r"|interview|workshop|capacitacion|taller|clase|tour|viewing|showing|inspection|formacion|training|visit"
    r"|sit down with|tutoria|tutoring"
    r"|availability|disponibilidad|hueco|huecos|slot|slots|turno|turnos"
    r"|quedar(?! bien| mal| atent)|quedamos(?= el| en| a las| para))\b"
    # "Thursday's 3pm review": something already on a day's calendar.
    r"|\b(?:tomorrow|today|monday|tuesday|wednesday|thursday|friday|saturday|sunday)'s\b"
)
# Nouns that also mean a question or a visit in passing: events only when asked for.
_REQUESTED_ONLY = re.compile(
    r"\b(?:agendar|pedir|reservar|programar|solicitar|quiero|quisiera|necesito|me gustaria|dar|darme"
    r"|deis|den|des|deme|dame|sacar|coger)\s+(?:\w+\s+){0,2}(consulta|turno|hora)\b"
)
_SCHEDULE_VERB = re.compile(
    r"\b(?:agendar|agendarme|agendame|agenda|programar|reservar|apartar|book|schedule|set up"
    r"|arrange|organise|organize|pencil in|put .{0,20} in the calendar|organizar (?:una|un))\b"
)
# Asking for another event while one is already arranged.
_NEW_REQUEST = re.compile(
    r"\b(?:agendar|programar|reservar|pedir|book|schedule|set up|arrange|otra|otro|another)\b"
)
_CANCEL = re.compile(
    r"\b(?:cancelar|cancelarla|cancelarlo|cancelamos|cancela|cancelen|cancelo|anular|anularla"
    r"|cancelenla|cancelenlo|cancelala|cancelalo|cancelemos|cancelemosla|anulenla|anulala"
    r"|cancel|cancelled|canceled|call off|calling off)\b"
)
_RESCHEDULE = re.compile(
    r"\b(?:mover|moverla|moverlo|movamos|movemos|mueve|muevan|muevo|movamosla|pasarla|pasarlo"
    r"|pasamos|pasemos|cambiar|cambiarla|cambiarlo|cambiamos|reprogramar|reprogramarla"
    r"|cambiala|cambialo|cambiemosla|muevela|muevelo|pasala|pasalo|corre(?:la|lo)|recorrerla"
    r"|reprogramemos|aplazar|aplazarla|posponer|posponerla|pospongamos|retrasar|retrasarla"
    r"|adelantar|adelantarla|move|moved|push|pushed|postpone|reschedule|bump|shift|change"
    r"|bring forward|bring it forward|move up|pasar(?= al\b| para\b| a las\b)"
    r"|mejor (?:la |lo |las |los )?(?:hacemos|dejamos|ponemos|pasamos|movemos)|en (?:lugar|vez) de"
    r"|atrasar\w*|retrasar\w*|instead|a la misma hora|same time)\b"
)
# After a move verb, where the new day begins: "al viernes", "to Tuesday", "para el 2".
_DESTINATION = re.compile(
    r"\b(?:al|a|para el|para|to|until|till|for|hasta el|mejor|better|instead|rather|mejor el|en vez)\s+(?=\S)"
)
_ANY_TIME = re.compile(
    r"\bcan'?t promise a time\b|\bany ?time\b|\bwhenever\b|\ball day\b|\bcualquier hora\b"
    r"|\btodo el dia\b|\bcuando (?:pueda|sea)\b|\bsin hora\b"
)
_ACCEPT = re.compile(
    r"^\W*(?:si|sip|vale|ok|okay|okey|perfecto|genial|dale|va|listo|de acuerdo|claro|bien"
    r"|me sirve|me va bien|yes|yep|yeah|sure|great|perfect|sounds good|works|fine|that works"
    r"|deal)\b"
)
# The contact asks for something (not just mentions an appointment in a question).
_ASK = re.compile(
    r"\b(?:quiero|quiera|queria|quisiera|necesito|necesitamos|me gustaria|nos gustaria|podemos|podriamos"
    r"|puedo|pueden|puede|podeis|podrian|agendar|agendame|pedir|reservar|programar|solicitar|organizar"
    r"|queremos|tengo|tenemos|teniamos|i'?d like|i would like|we'?d like|i want|we want|i need|we need"
    r"|can we|could we|can i|could i|can you|could you|please|book|schedule|set up|arrange|let'?s"
    r"|our|my|do you have|have you got|tienen|teneis|tienes|hay)\b"
)
# "¿Pueden venir el lunes a las 10?": a visit, when a time is given.
_VISIT = re.compile(
    r"\b(?:pueden|puede|podeis|podrian|podria|can you|could you|can someone|could someone)\s+"
    r"(?:\w+\s+){0,2}(?:venir|pasar(?:se)? por|come|stop by|come over|drop by|pop by)\b"
)
# Cancelling one and asking for another in the same breath is a move.
_REBOOK = re.compile(
    r"\b(?:rebook|re-book|reagendar|reagendarla|reagendarlo|otra cita|otro dia|book another"
    r"|another (?:time|day|slot|date)|instead|en su lugar|para otro dia)\b"
)
# Right after a move verb, a day or time: the new slot ("… hacemos el lunes 21").
_SLOT_NEXT = re.compile(
    r"\s*(?:el |la |las |on |the |at |a las |para el )?(?:lunes|martes|miercoles|jueves|viernes|sabado"
    r"|domingo|monday|tuesday|wednesday|thursday|friday|saturday|sunday|manana|tomorrow|pasado|\d)"
)
# "push it back by an hour", "atrasarla media hora": a move by a length of time.
_SHIFT = re.compile(
    r"\b(?:(back|forward|later|earlier)\s+)?by\s+((?:an|one|two|three|half an|\d+)\s+(?:hours?|minutes|mins?))"
    r"(?:\s+(later|earlier))?"
    r"|\b((?:una|media|dos|tres|\d+)\s+(?:horas?|minutos))(?:\s+(mas tarde|despues|antes|mas temprano))?"
)
_EARLIER = {"forward", "earlier", "antes", "mas temprano"}
_EARLIER_VERBS = re.compile(r"^(?:adelant|bring|move up)")
# The business states the agreement ("Booked for 3pm", "Te agendo el viernes a las 10"),
# strongly enough to stand for an event the contact's words did not name.
_BOOKED = re.compile(
    r"\b(?:booked|agendad[oa]|agendo|agende|reservad[oa]|reservo|confirmad[oa]|apuntad[oa]|apunto"
    r"|queda para|queda el|queda la|quedamos|queda agendad[oa]|you'?re booked|scheduled|set for"
    r"|mantenemos|moved (?:it )?to|is now|hecho|anotad[oa]|os esperamos|te esperamos|le esperamos"
    r"|we'?ll see you|see you)\b"
    # A business that answers a proposed slot with a yes and restates it agrees to it.
    r"|^\W*(?:claro|perfecto|listo|de acuerdo|sure|great|perfect|done|of course)\b"
)
# Every statement of an agreement: the strong ones above and those that only settle an event
# the contact already asked for ("listo", "all set", "nos vemos").
_CONFIRM = re.compile(
    _BOOKED.pattern
    + r"|\b(?:confirmo|all set|pencilled|penciled|you'?re in|listo|done|quedo|sigue en pie"
    r"|movid[oa]|cambiad[oa]|pasad[oa] al|reservation is|nos vemos|perfecto,? (?:el|la|para))\b"
)
# Opening hours are information, not an appointment ("Sí, el sábado abrimos a las 10").
_HOURS = re.compile(
    r"\b(?:abrimos|abre|abren|cerramos|cierra|cierran|horario|open|opens|close|closes|closed)\b"
)
# What the business will send or deliver is not a meeting ("le enviamos la cotización hoy").
_DELIVERY = re.compile(
    r"\b(?:envi\w*|mand\w*|send\w*|sent|deliver\w*|entreg\w*|email\w*|correo|inbox)\b"
)
# An ordinal pick among the business's options ("the second one", "la primera opción").
_ORDINAL = re.compile(
    r"\b(?:(first|primera?|primer)|(second|segunda?)|(third|tercera?)|(last|ultima?))\b"
    r"(?:\s+(?:one|option|opcion|slot|time|hora|fecha|propuesta))?"
)
# A scheduling word negated is not a request: "los pacientes no pueden reservar citas".
_NEGATED_REQUEST = re.compile(
    r"\b(?:no (?:\w+ )?|can'?t |cannot |unable to |won'?t let (?:me|us|them) )"
    r"(?:reservar|agendar|pedir|book|schedule|make)\b(?:\s+\w+)?"
)
# Asking whether an appointment is needed at all is a question, not a request.
_NO_APPOINTMENT_NEEDED = re.compile(
    r"\b(?:necesito|hace falta|se necesita|hay que (?:pedir|sacar)|ocupo)\s+(?:una\s+)?cita\s+o\b"
    r"|\bsin cita\b|\bdo (?:i|we) need an appointment\b|\bwithout an appointment\b|\bwalk[- ]?ins?\b"
)
# A deadline for something else ("email me the tables by tomorrow") is not an event's day.
_DEADLINE = re.compile(
    r"\b(?:by|before|no later than|antes del?|a mas tardar(?: el)?|para antes de)\s+"
    r"(?:tomorrow|today|tonight|manana|hoy|end of|fin de|(?:el |the |this |next )?(?:lunes|martes|miercoles"
    r"|jueves|viernes|monday|tuesday|wednesday|thursday|friday)|the \d{1,2}(?:st|nd|rd|th)?"
    r"|(?:las |la )?\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?)\b"
)
_EXISTING = re.compile(
    r"\b(?:tengo|tenemos|ya tengo|i have|we have|i'?ve got|we'?ve got|we'?re|i'?m|estoy|estamos)\b"
    r"(?:\s+\w+){0,2}?\s+(?:agendad[oa]s?|reservad[oa]s?|programad[oa]s?|booked|scheduled)\b"
    r"|\b(?:teniamos|tenia) (?:cita|tutoria|reunion|clase|turno|hora)\b"
)
# The business keeps a booking as it was ("mantenemos la presentación del jueves").
_KEPT = re.compile(
    r"\b(?:mantenemos|mantiene|sigue en pie|sigue igual|stays|still on|keep(?:ing)?)\b"
)
_ALTERNATIVES = re.compile(r"\b(?:o|or)\b")
_VIDEO = re.compile(
    r"\b(videollamada|video llamada|zoom|google meet|meet|teams|video call|videocall)\b"
)
_SERVICE = re.compile(r"\b(asesoria|consulta|consultation|visita)\b")
_NOUN = re.compile(
    r"\b(cita|appointment|entrevista|interview|visita tecnica|taller|workshop|clase)\b"
)


@dataclass
class _Draft:
    key: str
    kind: EventKind
    service: str | None = None
    # The noun the contact used ("cita", "appointment"): the title when no topic is given.
    noun: str | None = None
    day: date | None = None
    clock: Clock | None = None
    end_clock: Clock | None = None
    duration: timedelta | None = None
    title: str | None = None
    location: str | None = None
    cancelled: bool = False
    rescheduled: bool = False
    any_time: bool = False
    # The contact asked for it (rather than mentioning one in a question).
    asked: bool = False
    # The contact offered alternatives ("el jueves o el viernes"): the business's pick stands.
    tentative: bool = False
    # The contact named it as already booked ("tengo agendada la visita del martes").
    existing: bool = False
    # The number of the contact's message that last gave this event a day or a time.
    slot_given_at: int = 0
    sources: list[str] = field(default_factory=list)

    def cite(self, message_id: str) -> None:
        if message_id not in self.sources:
            self.sources.append(message_id)


@dataclass(frozen=True)
class EventsFound:
    # Every event asked for or agreed, in its latest state (cancelled ones included).
    events: tuple[AgreedEvent, ...] = ()
    # For an event still being arranged: what it lacks (day, time, topic).
    missing: tuple[Missing, ...] = ()
    # The contact moved or cancelled an event in this conversation.
    rescheduled: bool = False
    cancelled: bool = False
    # The contact asked for an event (even one that never got a day).
    requested: bool = False
    # Every standing event was booked before this conversation and left as it was.
    only_kept: bool = False


def _kind_of(folded: str) -> EventKind | None:
    folded = _NO_APPOINTMENT_NEEDED.sub(" ", _NEGATED_REQUEST.sub(" ", folded))
    if _DEMO.search(folded):
        return "demo"
    if _CALL.search(folded):
        return "call"
    if _MEETING.search(folded) or _REQUESTED_ONLY.search(folded) or _SCHEDULE_VERB.search(folded):
        return "meeting"
    return None


def _service_of(folded: str) -> str | None:
    if m := _SERVICE.search(folded):
        return m.group(1)
    return "demo" if _DEMO.search(folded) else None


class _Reader:
    """Reads one conversation's inbound messages in order, keeping the drafts."""

    def __init__(self, conversation: Conversation, language: str) -> None:
        self.language = language
        self.zone = ZoneInfo(conversation.timezone)
        self.drafts: list[_Draft] = []
        self.current: _Draft | None = None
        # The business's latest message, and whether the contact has answered it yet.
        self.last_outbound: str | None = None
        self.last_outbound_at: datetime | None = None
        # Set while reading the second and later events asked for in one message.
        self.key_suffix = ""
        self.force_new = False
        self.answered = True
        self.inbound_count = 0
        # The contact asked for, moved or cancelled something: a business confirmation of a
        # slot is then an agreement even if the contact's own words named no event.
        self.scheduling = False
        self.cancel_asked = False
        # A topic the contact named before any event was recognised ("quería pedir la
        # revisión de la instalación eléctrica"): the title of an event agreed later.
        self.topic_hint: str | None = None
        # The contact said a booking stays as it was ("la del sábado sigue en pie").
        self.kept_mentioned = False

    # The slots one message gives.
    def _fill(self, draft: _Draft, folded: str, at: datetime, message: ConversationMessage) -> bool:
        changed = False
        day = find_day(_DEADLINE.sub(" ", folded), at)
        if day is not None and day != draft.day:
            draft.day, changed = day, True
        span = find_range(folded)
        if span is not None:
            draft.clock, draft.end_clock, draft.duration = span[0], span[1], None
            changed = True
        elif (clock := find_time(folded)) is not None and clock != draft.clock:
            # A new start keeps a stated length but not a stated end.
            if draft.end_clock and draft.clock:
                draft.duration = _length(draft.clock, draft.end_clock)
            draft.clock, draft.end_clock, changed = clock, None, True
        if (length := find_duration(folded)) is not None and span is None:
            draft.duration, draft.end_clock, changed = length, None, True
        if _ANY_TIME.search(folded):
            draft.any_time = True
        if _VIDEO.search(folded) and draft.location is None:
            draft.location = "Videollamada" if self.language == "es" else "Video call"
        if changed:
            draft.tentative = bool(_ALTERNATIVES.search(folded))
            draft.slot_given_at = self.inbound_count
            draft.cite(message.id)
        return changed

    def _accept_proposal(self, draft: _Draft, folded: str, at: datetime) -> None:
        """ "Sí" to the business's "¿el jueves a las 10?" takes what it proposed."""
        if self.last_outbound is None or not _ACCEPT.search(folded):
            return
        proposal = fold(self.last_outbound)
        if _ALTERNATIVES.search(proposal):
            return  # a choice was offered; a bare "sí" does not say which
        proposed_at = (self.last_outbound_at or at).astimezone(self.zone)
        day, clock = find_day(proposal, proposed_at), find_time(proposal)
        if draft.day is None or (draft.tentative and day is not None):
            draft.day = day
        if draft.day is not None and clock is not None and (draft.clock is None or draft.tentative):
            draft.clock = clock
        draft.tentative = False

    @staticmethod
    def _shift(draft: _Draft, shift: re.Match[str], verb: str) -> None:
        by = find_duration(shift.group(2) or shift.group(4) or "")
        if by is None or draft.clock is None:
            return
        directions = {shift.group(1), shift.group(3), shift.group(5)}
        earlier = bool(directions & _EARLIER) or bool(_EARLIER_VERBS.match(verb))
        moved = datetime.combine(date(2000, 1, 1), time(draft.clock.hour, draft.clock.minute))
        moved += -by if earlier else by
        draft.clock = Clock(moved.hour, moved.minute)

    def _confirmed_by_business(self, message: ConversationMessage) -> None:
        """The business states what was agreed ("Booked: Monday 1 February at 8am", "Apuntado:
        llamada el lunes 4 a las 10:30 y demo el viernes 8 de 12 a 13"): each slot it states
        settles the event of its kind, opening it if the contact's words did not."""
        folded = fold(message.text)
        if self.inbound_count == 0 or not _CONFIRM.search(folded) or folded.rstrip().endswith("?"):
            return
        at = message.at.astimezone(self.zone)
        stated = []
        cuts = [
            0,
            *(x for m in _CONFIRMATION_BREAK.finditer(folded) for x in m.span()),
            len(folded),
        ]
        for start, stop in zip(cuts[::2], cuts[1::2], strict=True):
            part, original = folded[start:stop], message.text[start:stop]
            if (
                _CANCEL.search(part)
                or _ALTERNATIVES.search(part)
                or _DELIVERY.search(part)
                or _HOURS.search(part)
            ):
                continue
            part = _DEADLINE.sub(" ", part)
            span = find_range(part)
            day, clock = find_day(part, at), (span[0] if span else find_time(part))
            if day is not None and clock is not None:
                stated.append((part, original, day, clock, span))
        for part, original, day, clock, span in stated:
            kind = _kind_of(part)
            draft = self._draft_for(kind, day, alone=len(stated) == 1)
            if draft is None:
                if not (self.scheduling and (_BOOKED.search(part) or _BOOKED.search(folded))):
                    continue
                draft = self._open(kind or "meeting", message, part)
                draft.existing = bool(_KEPT.search(part)) or self.kept_mentioned
                if kind is None:
                    draft.noun = None
            if draft.title is None:
                draft.title = titles.from_cues(original, self.language, draft.service)
            if draft.title is None and draft.noun is None:
                draft.title = self.topic_hint
            if draft.day is not None and draft.day != day and not draft.cancelled:
                draft.rescheduled = draft.rescheduled or draft.clock is not None
            if draft.clock is not None and _twelve_hours_apart(draft.clock, clock):
                # "7 de la mañana" from the contact beats a confirmation's unmarked "7:00".
                span, clock = None, draft.clock
            draft.day, draft.clock = day, clock
            if span is not None:
                draft.end_clock, draft.duration = span[1], None
            elif draft.end_clock is not None and (draft.end_clock.hour, draft.end_clock.minute) <= (
                clock.hour,
                clock.minute,
            ):
                draft.end_clock = None
            draft.tentative = False
            draft.cite(message.id)

    def _draft_for(self, kind: EventKind | None, day: date, *, alone: bool) -> _Draft | None:
        """The standing event a business confirmation speaks of: same kind, else same day."""
        standing = [d for d in self.drafts if not d.cancelled]
        for candidates in (
            [d for d in standing if kind is not None and d.kind == kind],
            [d for d in standing if d.day == day],
        ):
            if len(candidates) >= 1:
                return candidates[-1]
        if alone and self.current is not None and not self.current.cancelled:
            return self.current
        return None

    def _pick_offered_time(self, draft: _Draft, at: datetime) -> None:
        """ "El martes por la mañana" after "lunes a las 7 o martes a las 9": the offered 9."""
        if self.last_outbound is None or self.answered or draft.day is None:
            return
        offered_at = (self.last_outbound_at or at).astimezone(self.zone)
        for option in _OPTION_BREAK.split(fold(self.last_outbound)):
            if find_day(option, offered_at) == draft.day and self._take_option(draft, option):
                return

    def _pick_by_ordinal(self, draft: _Draft, folded: str, at: datetime) -> bool:
        """ "The second one works" after three offered slots: the second of them."""
        m = _ORDINAL.search(folded)
        if m is None or self.last_outbound is None or self.answered:
            return False
        offered_at = (self.last_outbound_at or at).astimezone(self.zone)
        options = [
            o
            for o in _OPTION_BREAK.split(fold(self.last_outbound))
            if find_day(o, offered_at) or find_time(o)
        ]
        if len(options) < 2:
            return False
        index = -1 if m.group(4) else (0 if m.group(1) else 1 if m.group(2) else 2)
        if index >= len(options):
            return False
        option = options[index]
        if (day := find_day(option, offered_at)) is not None:
            draft.day = day
        return self._take_option(draft, option) or day is not None

    @staticmethod
    def _take_option(draft: _Draft, option: str) -> bool:
        if span := find_range(option):
            draft.clock, draft.end_clock, draft.duration = span[0], span[1], None
            return True
        if clock := find_time(option):
            draft.clock = clock
            return True
        return False

    def _title(self, draft: _Draft, text: str, folded: str) -> None:
        if draft.title is not None:
            return
        asked = self.last_outbound is not None and not self.answered
        if asked and titles.TOPIC_QUESTION.search(fold(self.last_outbound or "")):
            draft.title = titles.from_answer(text, self.language, draft.service)
            if draft.title:
                return
        draft.title = titles.from_cues(text, self.language, draft.service)

    def _open(self, kind: EventKind, message: ConversationMessage, folded: str) -> _Draft:
        noun = _NOUN.search(folded)
        draft = _Draft(
            key=message.id + self.key_suffix,
            kind=kind,
            service=_service_of(folded),
            noun=noun.group(1) if noun else None,
            asked=bool(_ASK.search(folded)),
            existing=bool(_EXISTING.search(folded)),
        )
        self.drafts.append(draft)
        self.current = draft
        return draft

    def read(self, message: ConversationMessage) -> None:
        if message.direction == "outbound":
            self.last_outbound, self.answered = message.text, False
            self.last_outbound_at = message.at
            self._confirmed_by_business(message)
            return
        clauses = _event_clauses(message.text, message.at.astimezone(self.zone))
        if len(clauses) < 2:
            self._read_inbound(message)
            return
        # "a call on Monday at 10 about the budget, and a site visit on Wednesday at 2"
        for n, clause in enumerate(clauses):
            self.key_suffix, self.force_new = (f"#{n}" if n else ""), True
            self._read_inbound(message.model_copy(update={"text": clause}))
        self.key_suffix, self.force_new = "", False

    def _read_inbound(self, message: ConversationMessage) -> None:
        self.inbound_count += 1
        text = message.text
        folded = fold(text)
        at = message.at.astimezone(self.zone)
        kind = _kind_of(folded)
        # A visit to fix a reported problem is support work, not an appointment.
        if (
            kind is None
            and _VISIT.search(folded)
            and (find_time(folded) or (find_day(folded, at) and not PROBLEM.search(folded)))
        ):
            kind = "meeting"
        current = self.current if self.current and not self.current.cancelled else None
        moving = _RESCHEDULE.search(folded) or (_CANCEL.search(folded) and _REBOOK.search(folded))
        if kind or moving or _ASK.search(folded) or self._gives_slot(folded, at):
            self.scheduling = True
        if self.topic_hint is None:
            self.topic_hint = titles.from_cues(text, self.language, None)
        if _KEPT.search(folded):
            self.kept_mentioned = True
        revived = self._revive_cancelled(folded, at) if not moving else None
        if revived is not None:
            self.current = revived
            self._fill(revived, folded, at, message)
            if revived.clock is None:
                self._pick_offered_time(revived, at)
        elif _CANCEL.search(folded) and not moving:
            self.cancel_asked = True
            draft = self._cancelled_one(kind, current, folded, at)
            if draft is None and kind:
                draft = self._open(kind, message, folded)
                self._fill(draft, folded, at, message)
                self._title(draft, text, folded)
            if draft is not None:
                draft.cancelled = True
                draft.cite(message.id)
        elif moving and (kind or current or find_day(folded, at) or find_time(folded)):
            self._move(kind, current, message, folded, at)
        else:
            opens_new = kind is not None and (
                current is None
                or self.force_new
                or (current.day is not None and bool(_NEW_REQUEST.search(folded)))
                # "Y luego una demo…" after a call that has its day and time: another event.
                or (
                    kind != current.kind
                    and current.day is not None
                    and current.clock is not None
                    and bool(find_day(folded, at) or find_time(folded) or _ASK.search(folded))
                )
            )
            if opens_new and kind is not None:
                current = self._open(kind, message, folded)
                current.cite(message.id)
            if current is not None:
                if kind == "call" and current.kind == "meeting" and not current.day:
                    current.kind = "call"
                if self._pick_by_ordinal(current, folded, at):
                    current.slot_given_at = self.inbound_count
                    current.cite(message.id)
                else:
                    self._fill(current, folded, at, message)
                if not (find_day(folded, at) or find_time(folded) or _ORDINAL.search(folded)):
                    self._accept_proposal(current, folded, at)
                elif current.clock is None:
                    self._pick_offered_time(current, at)
                self._title(current, text, folded)
        self.answered = True

    @staticmethod
    def _gives_slot(folded: str, at: datetime) -> bool:
        plain = _DEADLINE.sub(" ", folded)
        return bool(find_day(plain, at) or find_time(plain)) and not _HOURS.search(folded)

    def _cancelled_one(
        self, kind: EventKind | None, current: _Draft | None, folded: str, at: datetime
    ) -> _Draft | None:
        """The event a cancellation names: by its day when it gives one, else the current."""
        day = find_day(folded, at)
        standing = [d for d in self.drafts if not d.cancelled]
        if day is not None:
            same_day = [d for d in standing if d.day == day]
            if same_day:
                return same_day[-1]
        if current and (kind is None or kind == current.kind):
            return current
        return None

    def _revive_cancelled(self, folded: str, at: datetime) -> _Draft | None:
        """After "cancel tomorrow's meeting", "¿Could we do Friday instead?" moves it."""
        last = self.drafts[-1] if self.drafts else None
        if last is None or not last.cancelled or _CANCEL.search(folded):
            return None
        if not (find_day(folded, at) or find_time(folded)):
            return None
        offered = fold(self.last_outbound or "") if not self.answered else ""
        if not (_REBOOK.search(folded) or _ASK.search(folded) or _REBOOK.search(offered)):
            return None
        last.cancelled, last.rescheduled = False, True
        return last

    def _move(
        self,
        kind: EventKind | None,
        current: _Draft | None,
        message: ConversationMessage,
        folded: str,
        at: datetime,
    ) -> None:
        cue = _RESCHEDULE.search(folded) or _CANCEL.search(folded) or _REBOOK.search(folded)
        assert cue is not None
        destination = None
        for m in _DESTINATION.finditer(folded, cue.end()):
            rest = folded[m.end() :]
            if find_day(rest, at) or find_time(rest):
                destination = m
                break
        if destination is not None:
            split = destination.start()
        elif _SLOT_NEXT.match(folded, cue.end()):
            split = cue.end()  # "mejor la hacemos el lunes 21": the new slot follows the verb
        else:
            split = len(folded)
        old, new = folded[:split], folded[split:]
        draft = current
        if draft is None:
            draft = self._open(kind or "meeting", message, folded)
            if kind is None:
                draft.title = self.topic_hint
        if draft.day is None:
            # The message names the event as it stood ("la cita que tengo mañana a las 10").
            self._fill(draft, old, at, message)
        self._title(draft, message.text, folded)
        new_day, new_time = find_day(new, at), find_time(new)
        if new_day is not None and new_day != draft.day:
            draft.day, draft.rescheduled = new_day, True
        if new_time is not None and new_time != draft.clock:
            draft.clock, draft.rescheduled = new_time, True
        shift = _SHIFT.search(folded, cue.end())
        if shift and new_time is None and draft.clock is not None:
            self._shift(draft, shift, cue.group(0))
        elif (length := find_duration(new)) is not None:
            draft.duration = length
        # Asked to move, the event counts as moved even before the new slot is agreed; the
        # old time stands ("same time") unless a later message gives another.
        draft.rescheduled = True
        draft.cite(message.id)

    def found(self, conversation: Conversation) -> EventsFound:
        events = tuple(self._agreed(d, conversation) for d in self.drafts if d.day is not None)
        missing: list[Missing] = []
        last = self.current
        if last is not None and not last.cancelled:
            # Time and topic are asked for once, in answer to the message that gave the day
            # or time; after one more message without them the event stands as it is.
            # An event being moved already exists: nothing to ask about it but its new slot.
            just_given = last.slot_given_at == self.inbound_count and not last.rescheduled
            if last.day is None:
                missing.append("day")
                if last.clock is None:
                    missing.append("time")
            elif last.clock is None and not last.any_time and just_given:
                missing.append("time")
            if last.title is None and (last.day is None or just_given):
                missing.append("topic")
        return EventsFound(
            events=events,
            missing=tuple(missing),
            rescheduled=any(d.rescheduled and not d.cancelled for d in self.drafts),
            cancelled=self.cancel_asked or any(d.cancelled for d in self.drafts),
            only_kept=all(d.existing and not d.rescheduled for d in self.drafts if not d.cancelled),
            requested=any(d.asked or d.day is not None for d in self.drafts),
        )

    def _agreed(self, draft: _Draft, conversation: Conversation) -> AgreedEvent:
        assert draft.day is not None
        start: datetime | date = draft.day
        end: datetime | None = None
        if draft.clock is not None:
            start = datetime.combine(
                draft.day, time(draft.clock.hour, draft.clock.minute), self.zone
            )
            if draft.end_clock is not None:
                end = datetime.combine(
                    draft.day, time(draft.end_clock.hour, draft.end_clock.minute), self.zone
                )
            elif draft.duration is not None:
                end = start + draft.duration
        contact = conversation.contact.name or conversation.contact.phone
        return AgreedEvent(
            key=draft.key,
            title=draft.title
            or titles.default_title(draft.kind, self.language, draft.service, draft.noun),
            start=start,
            end=end,
            timezone=conversation.timezone,
            location=draft.location,
            attendees=(contact,) if contact else (),
            kind=draft.kind,
            status="cancelled" if draft.cancelled else "standing",
            rescheduled=draft.rescheduled,
            source_message_ids=tuple(draft.sources),
        )


def _twelve_hours_apart(a: Clock, b: Clock) -> bool:
    return a.minute == b.minute and abs(a.hour - b.hour) == 12


def _length(start: Clock, end: Clock) -> timedelta:
    return timedelta(hours=end.hour - start.hour, minutes=end.minute - start.minute)


_OPTION_BREAK = re.compile(r",|;|\bo\b|\bor\b")
# Between the slots of one confirmation: "llamada el lunes a las 10:30 y demo el viernes 8…".
_CONFIRMATION_BREAK = re.compile(r";|,?\s+(?:and|y|e)\s+(?=\D)|\.\s+")
_CLAUSE_BREAK = re.compile(
    r",?\s+and (?=(?:also )?(?:a|an|another|the)\b)|;\s*|,?\s+y (?=(?:tambien )?(?:una|un|otra|otro|la|el)\b)"
    r"|,\s+(?=(?:a|an|una|un|otra|otro)\b)"
)


def _event_clauses(text: str, at: datetime) -> list[str]:
    """The parts of one message that each ask for an event with its own day; [text] if one."""
    folded = fold(text)
    cuts = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(folded)), len(text)]
    parts = [(text[a:b], folded[a:b]) for a, b in itertools.pairwise(cuts)]
    eventful = [
        original
        for original, part in parts
        if _kind_of(part) and (find_day(part, at) or find_time(part))
    ]
    if len(eventful) < 2 or len(eventful) != sum(1 for _, p in parts if _kind_of(p)):
        return [text]
    return [original for original, _ in parts]


def find_events(conversation: Conversation, language: str) -> EventsFound:
    """Every calendar event the conversation asked for, in its latest state."""
    reader = _Reader(conversation, language)
    for message in conversation.messages:
        reader.read(message)
    return reader.found(conversation)


def mentions_unspecific_week(conversation: Conversation) -> bool:
    """The contact said "next week" without a day (the reply asks which day)."""
    return any(
        mentions_next_week_without_day(fold(m.text))
        for m in conversation.messages
        if m.direction == "inbound"
    )
