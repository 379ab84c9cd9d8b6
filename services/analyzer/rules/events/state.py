"""What the event reader keeps while it reads: the drafts, and what the business said last."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hilo.dates import Clock
from services.analyzer.models import AgreedEvent, EventKind, Missing


class TitleSource:
    """How much a title is worth, by where it came from. A topic the contact named before
    the event existed is a guess; one in a message about the event is better; the
    contact's answer to "what is it about?" and the business's confirmation ("… para la
    cata de vinos") are the best, and the first of them stands."""

    HINT = 1
    CUES = 2
    ANSWER = 3
    CONFIRMATION = 3


@dataclass
class Draft:
    """One event being arranged, as far as the messages read so far have taken it."""

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
    # Where the title came from (TitleSource): a better source later replaces it.
    title_rank: int = 0
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
    # The contact said they cannot make it: a slot the business proposes next moves it.
    unattended: bool = False
    # The business offered it ("¿Qué día quiere venir?"): nothing to ask the contact until
    # they take it up with a day, a time or a yes.
    offered: bool = False
    # A visit to fix what the contact reported broken: support work that has a slot.
    repair: bool = False
    # The number of the contact's message that last gave this event a day or a time.
    slot_given_at: int = 0
    sources: list[str] = field(default_factory=list)

    def name(self, title: str | None, rank: int) -> None:
        """Takes ``title`` unless the one it has came from a source as good or better."""
        if title and (self.title is None or rank > self.title_rank):
            self.title, self.title_rank = title, rank

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
    # Every standing event is a visit to fix a reported problem (the intent stays support).
    only_repairs: bool = False
    # The contact asked for a call that never got a day: a call to make, not an event.
    call_asked: bool = False


@dataclass
class Reading:
    """The reader's state between messages. Each step (opening, filling, confirming,
    moving, cancelling) reads and changes it; none keeps state of its own."""

    language: str
    zone: ZoneInfo
    drafts: list[Draft] = field(default_factory=list)
    current: Draft | None = None
    # The business's latest message, and whether the contact has answered it yet.
    last_outbound: str | None = None
    last_outbound_at: datetime | None = None
    answered: bool = True
    # Set while reading the second and later events asked for in one message.
    key_suffix: str = ""
    force_new: bool = False
    inbound_count: int = 0
    # The contact asked for, moved or cancelled something: a business confirmation of a
    # slot is then an agreement even if the contact's own words named no event.
    scheduling: bool = False
    cancel_asked: bool = False
    # What the contact reported broken, in their words (a visit for it is a repair).
    problem_reported: str | None = None
    # A topic the contact named before any event was recognised ("quería pedir la
    # revisión de la instalación eléctrica"): the title of an event agreed later.
    topic_hint: str | None = None
    # The contact said a booking stays as it was ("la del sábado sigue en pie").
    kept_mentioned: bool = False
    # The business's spelling of words with accents, by their folded form: a title cut from
    # the contact's "depilacion" is written "depilación" when the business wrote it so.
    business_spelling: dict[str, str] = field(default_factory=dict)

    def standing(self) -> list[Draft]:
        return [d for d in self.drafts if not d.cancelled]

    def proposal_time(self, at: datetime) -> datetime:
        """When the business's last message was written (what its "mañana" means)."""
        return (self.last_outbound_at or at).astimezone(self.zone)

    def unanswered_proposal(self) -> str | None:
        """The business's last message, while the contact has not answered it yet."""
        return None if self.answered else self.last_outbound
