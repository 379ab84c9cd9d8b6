"""One named test per labeling convention fixed in the rules (docs/ANALYSIS_DATA.md).

Each conversation here is worded for this test, not copied from a labeled set: the
convention is what is checked, so a new wording of the same convention should pass too.
Messages alternate from the contact (plain strings) and the business (``B("…")``), one
minute apart, from Tuesday 17 November 2026, 10:00 in the given time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hilo.dates import Clock, find_time
from services.analyzer.models import Analysis, Contact, Conversation, ConversationMessage
from services.analyzer.rules import analyze
from services.analyzer.rules.text import fold

TUESDAY = date(2026, 11, 17)


@dataclass(frozen=True)
class B:
    """A message from the business."""

    text: str


def read(*turns: str | B, tz: str = "Europe/Madrid", language: str | None = None) -> Analysis:
    start = datetime(2026, 11, 17, 10, 0, tzinfo=ZoneInfo(tz))
    messages = tuple(
        ConversationMessage(
            direction="outbound" if isinstance(turn, B) else "inbound",
            at=start + timedelta(minutes=i),
            text=turn.text if isinstance(turn, B) else turn,
        )
        for i, turn in enumerate(turns)
    )
    return analyze(
        Conversation(
            id="+34600000000",
            language=language,
            timezone=tz,
            contact=Contact(phone="+34600000000", name="Nora"),
            messages=messages,
        )
    )


def at(day: date, hour: int, minute: int = 0, tz: str = "Europe/Madrid") -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))


def standing(analysis: Analysis) -> list[tuple[str, object]]:
    return [(e.title, e.start) for e in analysis.standing_events]


def names(analysis: Analysis) -> set[str]:
    return {fold(e.text) for e in analysis.entities if e.type in ("person", "organization")}


# --- open: events the business offers ----


def test_an_event_the_business_offers_becomes_one_with_the_contacts_day_and_its_time() -> None:
    analysis = read(
        "Buenas, me pasó vuestro número mi cuñada",
        "quería renovar el pasaporte de mi hijo",
        B("¡Hola! Claro. ¿Te viene bien pasar por la oficina el miércoles?"),
        "el miércoles no puedo, ¿el jueves?",
        B("El jueves a las 11, ¿te parece?"),
        "dale, ahí estaré",
    )
    [(title, start)] = standing(analysis)
    assert start == at(date(2026, 11, 19), 11)
    assert "pasaporte" in fold(title) and fold(title).startswith("renovacion")
    assert analysis.intent == "schedule"
    assert [t.type for t in analysis.tasks] == ["meeting"]


def test_a_yes_to_the_slot_the_business_offers_is_the_event() -> None:
    analysis = read(
        "hi! a friend said you do event planning",
        "I'd love some help planning my daughter's birthday party",
        B("Happy to help! How's Saturday at 11 at our studio?"),
        "perfect",
        language="en",
    )
    [(title, start)] = standing(analysis)
    assert start == at(date(2026, 11, 21), 11)
    assert "birthday party" in title.lower()


def test_an_offer_the_contact_never_takes_up_is_no_event() -> None:
    analysis = read(
        "Do you repair vintage watches?",
        B("We do! Would you like to bring it in on Thursday?"),
        "thanks, I'll think about it",
        language="en",
    )
    assert standing(analysis) == [] and analysis.missing == ()


def test_a_day_the_contact_cannot_make_is_not_the_events_day() -> None:
    analysis = read(
        "Quiero pedir una cita para la revisión de la caldera",
        B("¿Le va bien el lunes?"),
        "el lunes no puedo, mejor el martes a las 10",
    )
    assert [s for _, s in standing(analysis)] == [at(date(2026, 11, 24), 10)]


def test_the_business_agreeing_to_a_slot_without_restating_it_is_the_event() -> None:
    spanish = read(
        "Hola, quería reservar para una limpieza dental el viernes",
        B("Sí, ese día hay sitio"),
        "por la tarde, a las 6",
        B("Perfecto"),
        "ahí estaré",
    )
    assert standing(spanish) == [("Limpieza dental", at(date(2026, 11, 20), 18))]
    english = read(
        "hi, could I come in Thursday for a haircut?",
        B("Yes, Thursday has space"),
        "afternoon, say 4?",
        B("Great"),
        "see you then",
        language="en",
    )
    assert standing(english) == [("Haircut", at(date(2026, 11, 19), 16))]


def test_regional_yeses_take_the_offered_slot() -> None:
    colombia = read(
        "buenas, ¿me pueden agendar una valoración?",
        B("Claro, ¿le sirve el miércoles a las 3 de la tarde?"),
        "de una",
        tz="America/Bogota",
    )
    assert [s for _, s in standing(colombia)] == [at(date(2026, 11, 18), 15, tz="America/Bogota")]
    british = read(
        "Hiya, could we pop round on Saturday to view the flat?",
        B("Of course, 11am suit you?"),
        "lovely, see you then",
        language="en",
        tz="Europe/London",
    )
    assert [s for _, s in standing(british)] == [at(date(2026, 11, 21), 11, tz="Europe/London")]


def test_asking_to_be_seen_today_and_a_time_given_is_the_event() -> None:
    tz = "America/Argentina/Buenos_Aires"
    analysis = read(
        "necesito que me atiendan hoy, me duele mucho la muela",
        B("Vení a las 18"),
        "dale, gracias",
        tz=tz,
    )
    assert [s for _, s in standing(analysis)] == [at(TUESDAY, 18, tz=tz)]
    assert (analysis.intent, analysis.sentiment) == ("schedule", "urgent")


def test_a_free_slot_is_not_the_opening_hours() -> None:
    analysis = read(
        "Can you squeeze me in tomorrow for a cleaning?",
        B("We have 10:30 open"),
        "I'll take it",
        language="en",
        tz="America/New_York",
    )
    tomorrow = at(date(2026, 11, 18), 10, 30, "America/New_York")
    assert [s for _, s in standing(analysis)] == [tomorrow]


def test_an_hour_in_hs_after_a_weekday_is_not_a_day_of_the_month() -> None:
    analysis = read(
        "hola! quiero un turno para el jueves",
        B("Dale, ¿a qué hora?"),
        "a las 17 hs",
        B("Listo, jueves 17 hs"),
        tz="America/Argentina/Buenos_Aires",
    )
    tz = "America/Argentina/Buenos_Aires"
    assert [s for _, s in standing(analysis)] == [at(date(2026, 11, 19), 17, tz=tz)]
    assert analysis.intent == "schedule"


def test_letting_an_unagreed_slot_go_leaves_no_event() -> None:
    analysis = read(
        "¿Tienen hueco el viernes para un corte?",
        B("Sí, a las 12"),
        "uy no, mejor lo dejo para otro momento",
    )
    assert standing(analysis) == [] and analysis.tasks == ()
    assert analysis.intent != "cancel"


# --- a technician's visit ----


def test_a_technicians_visit_promised_for_today_is_support_work_with_its_slot() -> None:
    analysis = read(
        "se nos fue la luz en la oficina y no funciona nada",
        "necesito que venga alguien hoy",
        B("Disculpe las molestias. El técnico llega hoy a las 5"),
        "gracias",
    )
    assert standing(analysis) == [("Visita técnica", at(TUESDAY, 17))]
    assert analysis.intent == "support" and analysis.sentiment == "urgent"
    tasks = {t.type: t for t in analysis.tasks}
    assert set(tasks) == {"meeting", "support"}
    assert tasks["support"].due == TUESDAY and tasks["support"].priority <= 2


def test_sending_the_technician_at_a_time_is_the_visit() -> None:
    analysis = read(
        "se me dañó la nevera, no enfría nada",
        B("Qué pena. Hoy a las 3 le mandamos al técnico"),
        "listo, gracias",
        tz="America/Bogota",
    )
    assert standing(analysis) == [("Visita técnica", at(TUESDAY, 15, tz="America/Bogota"))]
    assert analysis.intent == "support"


def test_a_repair_visit_in_english_is_named_for_what_broke() -> None:
    analysis = read(
        "the water heater is leaking all over the garage floor",
        B("So sorry! A technician can be there today between 1 and 3"),
        "ok great",
        language="en",
        tz="America/Chicago",
    )
    [event] = analysis.standing_events
    assert event.title == "Water heater repair"
    assert event.start == at(TUESDAY, 13, tz="America/Chicago")
    assert event.end == at(TUESDAY, 15, tz="America/Chicago")
    assert analysis.intent == "support"


def test_a_promise_to_write_back_tomorrow_is_no_visit() -> None:
    analysis = read(
        "the sync keeps failing on my laptop",
        B("Thanks, our tech team is on it; I'll message you tomorrow with the fix"),
        language="en",
    )
    assert standing(analysis) == []
    assert [t.type for t in analysis.tasks] == ["support"]


# --- the business's own promises ----


def test_a_business_promise_to_call_at_a_time_is_a_call_event() -> None:
    analysis = read(
        "Tengo dudas con la factura electrónica",
        B("Lo reviso y te llamo el jueves a las 10"),
        "vale, gracias",
    )
    [event] = analysis.standing_events
    assert event.kind == "call" and event.start == at(date(2026, 11, 19), 10)
    assert [t.type for t in analysis.tasks] == ["call"]
    someone = read(
        "Hi, a question about my bill", B("Mark will call you Friday at 2:30"), language="en"
    )
    assert [(e.kind, e.start) for e in someone.standing_events] == [
        ("call", at(date(2026, 11, 20), 14, 30))
    ]


def test_a_business_promise_to_send_a_quote_is_a_quote_task_due_that_day() -> None:
    analysis = read(
        "Hi, we're moving offices in January",
        B("Sounds good, I'll send you the quote on Friday"),
        "great",
        language="en",
    )
    [task] = [t for t in analysis.tasks if t.type == "quote"]
    assert task.due == date(2026, 11, 20)
    spanish = read("¿Qué precio tiene?", B("Se lo mando mañana, el presupuesto detallado"))
    assert [(t.type, t.due) for t in spanish.tasks] == [("quote", date(2026, 11, 18))]


def test_a_call_asked_for_about_a_problem_without_a_day_is_support_and_a_call_to_make() -> None:
    analysis = read(
        "Please call me as soon as you can, the checkout page is not working",
        B("On it, I'll ring you in a few minutes"),
        language="en",
    )
    assert analysis.intent == "support" and standing(analysis) == []
    assert {t.type for t in analysis.tasks} == {"support", "call"}


def test_when_the_contact_will_answer_is_not_the_events_day() -> None:
    analysis = read(
        "Hola, quería pedir una cita para una limpieza",
        B("Claro, ¿qué día le viene bien?"),
        "Tengo que mirar mi agenda, le digo mañana",
    )
    assert standing(analysis) == [] and set(analysis.missing) >= {"day"}


def test_a_deadline_date_is_not_an_event() -> None:
    analysis = read(
        "We'd like a proposal for the new signage",
        "our board meets on the 24th so ideally before then",
        B("Of course, I'll send it by the 20th"),
        language="en",
    )
    assert standing(analysis) == [] and analysis.intent == "quote"
    assert [t.type for t in analysis.tasks] == ["proposal"]


# --- titles ----


def test_the_topic_in_the_business_confirmation_names_the_event() -> None:
    analysis = read(
        "Hola, ¿os queda sitio el lunes?",
        B("Listo, te espero el lunes a las 9 para la cata de vinos"),
    )
    assert standing(analysis) == [("Cata de vinos", at(date(2026, 11, 23), 9))]
    english = read(
        "are you free on Friday afternoon?",
        B("Yes! See you Friday at 3 for the gutter cleaning"),
        language="en",
    )
    assert [t for t, _ in standing(english)] == ["Gutter cleaning"]


def test_the_answer_to_what_is_it_about_names_the_event() -> None:
    analysis = read(
        "Are you free Thursday?",
        B("Sure, what's it for?"),
        "renewing my lease",
        B("Great, see you Thursday at 2"),
        language="en",
    )
    assert standing(analysis) == [("Lease renewal", at(date(2026, 11, 19), 14))]


def test_a_title_is_a_short_noun_not_the_contacts_wording() -> None:
    spanish = read(
        "Quiero una cita para revisar mi declaración de la renta para el banco",
        B("Perfecto, el jueves a las 12"),
    )
    assert [t for t, _ in standing(spanish)] == ["Revisión de la declaración de la renta"]
    english = read(
        "Can I book a slot on Monday at 9 to get my bike serviced?",
        B("Booked!"),
        language="en",
    )
    assert [t for t, _ in standing(english)] == ["Bike service"]


def test_a_topic_answered_before_the_event_was_recognised_names_it() -> None:
    analysis = read(
        "Hey can I get a consult next Monday at 3?",
        B("Of course, what would you like to discuss?"),
        "expanding my bakery to a second location",
        B("Booked, see you Monday at 3"),
        language="en",
    )
    [(title, _)] = standing(analysis)
    assert "bakery" in title.lower() and "my" not in title.lower().split()


def test_more_wordings_become_noun_titles() -> None:
    cases = [
        (read("set up a call Thursday at 11 to talk about renewing our contract", language="en"),
         "Contract renewal"),
        (read("Me gustaría reservar para una sesión de fotos familiar el sábado a las 10"),
         "Sesión de fotos familiar"),
        (read("Quiero hacer una visita al local mañana a las 5"), "Visita al local"),
        (read("Hi, can I book Wednesday at 1? I need my gutters cleaned", language="en"),
         "Gutters cleaning"),
    ]  # fmt: skip
    assert [[t for t, _ in standing(a)] for a, _ in cases] == [[t] for _, t in cases]


def test_a_title_takes_its_accents_from_the_business() -> None:
    analysis = read(
        "quiero cita para depilacion el viernes a las 4",
        B("Hecho, depilación el viernes a las 16:00"),
    )
    assert [t for t, _ in standing(analysis)] == ["Depilación"]


# --- cancelling, moving ----


def test_a_threat_to_cancel_is_a_complaint_not_a_cancellation() -> None:
    analysis = read(
        "Es la tercera vez que me cobran de más en la cuota",
        "si esto sigue así cancelo el contrato",
        B("Lo siento mucho, lo revisamos y le contestamos el viernes"),
    )
    assert analysis.intent == "complaint" and analysis.sentiment == "negative"
    assert [(t.type, t.due) for t in analysis.tasks] == [("follow_up", date(2026, 11, 20))]


def test_cancel_with_a_pronoun_and_skip_cancel() -> None:
    spanish = read(
        "tengo cita el jueves a las 6 para las uñas",
        "cancelame la del jueves porfa",
    )
    assert spanish.intent == "cancel" and standing(spanish) == []
    english = read(
        "can we do a call on Monday at 10 about the budget?",
        B("Booked"),
        "actually let's skip Monday's call",
        language="en",
    )
    assert english.intent == "cancel" and standing(english) == []


def test_cannot_make_it_then_a_new_day_accepted_moves_the_event() -> None:
    analysis = read(
        "No puedo ir a la reunión del lunes a las 10",
        B("¿Te va bien el martes a la misma hora?"),
        "sí, perfecto",
    )
    assert [s for _, s in standing(analysis)] == [at(date(2026, 11, 24), 10)]
    assert analysis.intent == "reschedule"
    mexico = read(
        "Tengo cita el jueves a las 5",
        "¿me la puedes recorrer al viernes?",
        B("Claro, viernes a las 5"),
        tz="America/Mexico_City",
    )
    assert mexico.intent == "reschedule"
    assert [s for _, s in standing(mexico)] == [
        at(date(2026, 11, 20), 17, tz="America/Mexico_City")
    ]


def test_changing_plan_is_not_moving_the_event() -> None:
    analysis = read(
        "¿Me pueden llamar el lunes a las 10?",
        "es sobre el seguro del coche, quiero cambiar de plan",
    )
    assert analysis.intent == "schedule"
    assert all(not e.rescheduled for e in analysis.events)


def test_marcar_asks_for_a_call() -> None:
    analysis = read("¿me pueden marcar mañana a las 12?", tz="America/Mexico_City")
    [event] = analysis.standing_events
    assert event.kind == "call"


def test_an_hour_with_its_half_is_a_time_without_a_las() -> None:
    assert find_time(fold("mejor 6 y media, antes no llego")) == Clock(18, 30)
    assert find_time(fold("llevo 5 y media horas esperando")) is None


# --- sentiment and intent ----


def test_a_repeated_failure_is_frustration_even_when_asking_for_a_fix() -> None:
    analysis = read(
        "The card reader froze AGAIN this morning",
        "can someone take a look at it",
        language="en",
    )
    assert analysis.intent == "support" and analysis.sentiment == "negative"
    assert all(t.priority <= 3 for t in analysis.tasks)


def test_tonight_and_this_afternoon_are_today() -> None:
    burst = read("Can someone come tonight? The pipe under the sink burst", language="en")
    assert (burst.intent, burst.sentiment) == ("support", "urgent")
    assert read("¿Me pueden atender esta tarde?").sentiment == "urgent"
    assert read("¿Abren esta tarde?").sentiment == "neutral"


def test_the_business_hours_with_today_are_not_urgent() -> None:
    assert read("¿A qué hora abren hoy?").sentiment == "neutral"
    assert read("Are you open today until 8?", language="en").sentiment == "neutral"


def test_warm_seasonal_greetings_are_positive() -> None:
    spanish = read("¡Felices fiestas y próspero año nuevo! Sois lo más 🎉")
    assert (spanish.sentiment, spanish.intent) == ("positive", "other")
    english = read("Happy new year to the whole team, you're the best!", language="en")
    assert (english.sentiment, english.intent) == ("positive", "other")


# --- entities ----


def test_organizations_known_by_their_letters_or_their_place() -> None:
    analysis = read(
        "I got a letter from the DMV about my plates",
        "also the refund went to my account at Chase, and I'm near the Costco on 5th",
        language="en",
    )
    assert {"dmv", "chase", "costco"} <= names(analysis)
    spanish = read("Soy dueña del restaurante La Pérgola y quiero una cotización")
    assert "la pergola" in names(spanish)
    assert "sat" in names(read("Necesito ayuda con mi declaración ante el SAT"))


def test_single_names_where_their_place_says_so() -> None:
    analysis = read("Hi Priya! Got your number from Tom at the gym", language="en")
    assert {"priya", "tom"} <= names(analysis)
    spanish = read("ayer vino un tal Ramiro y dejó la instalación a medias")
    assert "ramiro" in names(spanish)
    referred = read("¡Hola! Me pasó tu número Laura", "quisiera una cita el jueves a las 4")
    assert "laura" in names(referred) and len(referred.standing_events) == 1
    roles = read("Our CEO Dana Whitfield will join the call", language="en")
    assert "dana whitfield" in names(roles)
