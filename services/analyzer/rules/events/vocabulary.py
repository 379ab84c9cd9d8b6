"""The words the event reader listens for, as tables and patterns. Data, no logic.

Plain word lists are tables (tuples of folded phrases, made into one whole-word pattern
by ``words_pattern``): adding a word is adding a line. Patterns with structure (a verb
followed by its object, a word only before another) stay regular expressions, each with
the example that made it necessary.
"""

from __future__ import annotations

import re

from services.analyzer.rules.text import words_pattern

# What the contact asks for, and the kind of event it is.
CALL = re.compile(
    r"\b(?:llamada|llamda|llamadita|call|phone call|llamarme|llamarnos|llamame|llamenme|call me"
    r"|(?:le|te|lo|la|les) (?:llama|llamo|llamamos|llamara|llamaremos|puede llamar)"
    r"|ring me|(?:me|nos) (?:puedes |puede |podeis |podrias |podrian |pueden )?llamar"
    # Mexico and Colombia "marcar": "¿me pueden marcar el lunes?", "márqueme mañana".
    r"|(?:me|nos) (?:puedes |puede |podrias |podria |podrian |pueden )?marcar|marcarme|marqueme"
    r"|marquenme|give me a call|give us a call)\b"
)
DEMO_WORDS = ("demo", "demos", "demostracion", "demonstration", "walkthrough")
DEMO = words_pattern(DEMO_WORDS)
MEETING = re.compile(
    r"\b(?:cita|reunion|reunirme|reunirnos|reunirnos|juntarnos|vernos|asesoria|visita|entrevista"
    r"|sesion|meeting|meet|appointment|consultation|kickoff|kick-off|session|catch up|get together"
    r"|interview|workshop|capacitacion|taller|clase|tour|viewing|showing|inspection|formacion|training|visit"
    r"|sit down with|tutoria|tutoring"
    r"|availability|disponibilidad|hueco|huecos|slot|slots|turno|turnos"
    r"|quedar(?! bien| mal| atent)|quedamos(?= el| en| a las| para)"
    # Asking whether the business is free is asking for a slot.
    r"|consult|squeeze (?:me|us) in|fit (?:me|us) in|atenderme|atendernos|me atiendan|me atienda"
    r"|nos atiendan|me (?:pueden|puede|podrian|podria) atender|are you free|r u free|are you available|estas libre|estais libres|esta libre|tienes libre"
    r"|tiene libre|tienen libre"
    # The contact asking to come: "could I come in Thursday", "¿puedo pasar el lunes?".
    r"|(?:can|could|may) (?:i|we) (?:come|stop|drop|pop|swing) (?:in|by|over|round)"
    r"|(?:puedo|podemos|podria|podriamos) (?:ir|pasar|pasarme|pasarnos|acercarme|acercarnos|caer))\b"
    # "Thursday's 3pm review": something already on a day's calendar.
    r"|\b(?:tomorrow|today|monday|tuesday|wednesday|thursday|friday|saturday|sunday)'s\b"
)
# Nouns that also mean a question or a visit in passing: events only when asked for.
REQUESTED_ONLY = re.compile(
    r"\b(?:agendar|pedir|reservar|programar|solicitar|quiero|quisiera|necesito|me gustaria|dar|darme"
    r"|deis|den|des|deme|dame|sacar|coger)\s+(?:\w+\s+){0,2}(consulta|turno|hora)\b"
)
SCHEDULE_VERB = re.compile(
    r"\b(?:agendar|agendarme|agendame|agenda|programar|reservar|apartar|book|schedule|set up"
    r"|arrange|organise|organize|pencil in|put .{0,20} in the calendar|organizar (?:una|un))\b"
)
# Asking for another event while one is already arranged.
NEW_REQUEST = re.compile(
    r"\b(?:agendar|programar|reservar|pedir|book|schedule|set up|arrange|otra|otro|another)\b"
)
CANCEL_WORDS = (
    "cancelar", "cancelarla", "cancelarlo", "cancelamos", "cancela", "cancelen", "cancelo",
    "cancelame", "cancelamela", "cancelamelo", "cancelenme", "cancelemela", "anulame",
    "anulamela", "skip", "scrap", "scratch",
    "cancelenla", "cancelenlo", "cancelala", "cancelalo", "cancelemos", "cancelemosla",
    "anular", "anularla", "anulenla", "anulala",
    "cancel", "cancelled", "canceled", "call off", "calling off",
)  # fmt: skip
CANCEL = words_pattern(CANCEL_WORDS)
RESCHEDULE = re.compile(
    r"\b(?:mover|moverla|moverlo|movamos|movemos|mueve|muevan|muevo|movamosla|pasarla|pasarlo"
    # "cambiar de plan" changes something else, not the event's slot.
    r"|pasamos|pasemos|cambiar(?! de (?!fecha|dia|hora|horario))|cambiarla|cambiarlo|cambiamos"
    r"|reprogramar|reprogramarla"
    r"|cambiala|cambialo|cambiemosla|muevela|muevelo|pasala|pasalo|corre(?:la|lo)|recorrerla|recorrer"
    r"|reprogramemos|aplazar|aplazarla|posponer|posponerla|pospongamos|retrasar|retrasarla"
    r"|adelantar|adelantarla|move|moved|push|pushed|postpone|reschedule|bump|shift|change"
    r"|bring forward|bring it forward|move up|pasar(?= al\b| para\b| a las\b)"
    r"|mejor (?:la |lo |las |los )?(?:hacemos|dejamos|ponemos|pasamos|movemos)|en (?:lugar|vez) de"
    r"|atrasar\w*|retrasar\w*|instead|a la misma hora|same time)\b"
)
# After a move verb, where the new day begins: "al viernes", "to Tuesday", "para el 2".
DESTINATION = re.compile(
    r"\b(?:al|a|para el|para|to|until|till|for|hasta el|mejor|better|instead|rather|mejor el|en vez)\s+(?=\S)"
)
ANY_TIME = re.compile(
    r"\bcan'?t promise a time\b|\bany ?time\b|\bwhenever\b|\ball day\b|\bcualquier hora\b"
    r"|\btodo el dia\b|\bcuando (?:pueda|sea)\b|\bsin hora\b"
)
# The contact's yes to what the business proposed, at the start of the message.
ACCEPT_WORDS = (
    "si", "sip", "vale", "ok", "okay", "okey", "perfecto", "genial", "dale", "va", "listo",
    "de acuerdo", "claro", "bien", "me sirve", "me va bien",
    "yes", "yep", "yeah", "sure", "great", "perfect", "sounds good", "works", "fine",
    "that works", "deal",
    # Taking it up by saying one will be there.
    "ahi estare", "ahi nos vemos", "alli estare", "nos vemos", "me queda bien", "me viene bien",
    "i'll be there", "ill be there", "see you then", "see u then", "works for me",
    # Regional yeses: "de una", "sale", "órale"; "lovely", "brilliant", "I'll take it".
    "de una", "sale", "orale", "va que va", "claro que si", "por supuesto", "hecho", "of course",
    "absolutely", "sounds great", "i'll take it", "ill take it", "lovely", "brilliant", "cool",
)  # fmt: skip
ACCEPT = re.compile(r"^\W*" + words_pattern(ACCEPT_WORDS).pattern)
# The contact asks for something (not just mentions an appointment in a question).
ASK = re.compile(
    r"\b(?:quiero|quiera|queria|quisiera|necesito|necesitamos|me gustaria|nos gustaria|podemos|podriamos"
    r"|puedo|pueden|puede|podeis|podrian|agendar|agendame|pedir|reservar|programar|solicitar|organizar"
    r"|queremos|tengo|tenemos|teniamos|i'?d like|i would like|we'?d like|i want|we want|i need|we need"
    r"|can we|could we|can i|could i|can you|could you|please|book|schedule|set up|arrange|let'?s"
    r"|our|my|do you have|have you got|tienen|teneis|tienes|hay)\b"
)
# "¿Pueden venir el lunes a las 10?": a visit, when a time is given.
VISIT = re.compile(
    r"\b(?:pueden|puede|podeis|podrian|podria|can you|could you|can someone|could someone)\s+"
    r"(?:\w+\s+){0,2}(?:venir|pasar(?:se)? por|come|stop by|come over|drop by|pop by)\b"
)
# Cancelling one and asking for another in the same breath is a move.
REBOOK = re.compile(
    r"\b(?:rebook|re-book|reagendar|reagendarla|reagendarlo|otra cita|otro dia|book another"
    r"|another (?:time|day|slot|date)|instead|en su lugar|para otro dia)\b"
)
# Right after a move verb, a day or time: the new slot ("… hacemos el lunes 21").
SLOT_NEXT = re.compile(
    r"\s*(?:el |la |las |on |the |at |a las |para el )?(?:lunes|martes|miercoles|jueves|viernes|sabado"
    r"|domingo|monday|tuesday|wednesday|thursday|friday|saturday|sunday|manana|tomorrow|pasado|\d)"
)
# "push it back by an hour", "atrasarla media hora": a move by a length of time.
SHIFT = re.compile(
    r"\b(?:(back|forward|later|earlier)\s+)?by\s+((?:an|one|two|three|half an|\d+)\s+(?:hours?|minutes|mins?))"
    r"(?:\s+(later|earlier))?"
    r"|\b((?:una|media|dos|tres|\d+)\s+(?:horas?|minutos))(?:\s+(mas tarde|despues|antes|mas temprano))?"
)
EARLIER = {"forward", "earlier", "antes", "mas temprano"}
EARLIER_VERBS = re.compile(r"^(?:adelant|bring|move up)")
# The business states the agreement ("Booked for 3pm", "Te agendo el viernes a las 10"),
# strongly enough to stand for an event the contact's words did not name.
BOOKED = re.compile(
    r"\b(?:booked|agendad[oa]|agendo|agende|reservad[oa]|reservo|confirmad[oa]|apuntad[oa]|apunto"
    r"|queda para|queda el|queda la|quedamos|queda agendad[oa]|you'?re booked|scheduled|set for"
    r"|mantenemos|moved (?:it )?to|is now|hecho|anotad[oa]|os esperamos|te esperamos|le esperamos"
    r"|we'?ll see you|see you)\b"
    # A business that answers a proposed slot with a yes and restates it agrees to it.
    r"|^\W*(?:claro|perfecto|listo|de acuerdo|sure|great|perfect|done|of course)\b"
)
# Every statement of an agreement: the strong ones above and those that only settle an event
# the contact already asked for ("listo", "all set", "nos vemos").
CONFIRM = re.compile(
    BOOKED.pattern
    + r"|\b(?:confirmo|all set|pencilled|penciled|you'?re in|listo|done|quedo|sigue en pie"
    r"|movid[oa]|cambiad[oa]|pasad[oa] al|reservation is|nos vemos|perfecto,? (?:el|la|para)"
    # The business takes the contact's proposal: "Monday at 9 works", "Noon's perfect".
    r"|works|works for us|(?:'s|is) perfect|(?:'s|is) fine|nos va bien|nos viene bien|esta perfecto"
    r"|booked in)\b"
)
# A threat is not a cancellation ("si esto sigue así cancelo la membresía", "fix it or I'll
# cancel"): it is a complaint, and the booking it might name still stands.
THREAT = re.compile(
    r"\bsi (?:esto )?(?:sigue asi|vuelve a (?:pasar|ocurrir|fallar)|pasa otra vez|continua asi"
    r"|no (?:me )?(?:lo |la )?(?:arreglan|solucionan|resuelven|devuelven))\b[^.!?]{0,60}"
    r"|\b(?:or|otherwise|if this|if it|if you)\b[^.!?]{0,60}\b(?:cancel\w*|leave|switch)\b"
    r"|\b(?:cancel\w*|me doy de baja|me voy)\b[^.!?]{0,60}\b(?:if (?:you|this|it|i|that)"
    r"|si no (?:me|lo|la|se)|si (?:esto|vuelve|siguen))\b[^.!?]{0,60}"
)
# The business offers an event the contact has not named ("¿Qué día quiere venir?", "Would
# you like to set up a demo?", "A tech can be there today between 3 and 5", "We can fit you in
# at 4"): it opens a draft that the contact's day, time or yes makes an event.
OFFER = re.compile(
    r"\b(?:que dia|que hora|cuando (?:quiere|quieres|queres|puede|puedes|podes|le va|te va|le viene"
    r"|te viene|les va|les viene)"
    r"|(?:quiere|quieres|queres|puede|puedes|podes|podeis|pueden|quieren) (?:venir|pasar\w*|acercar\w*)"
    r"|venir al|venir a la|(?:le|te|les) (?:queda|parece|sirve|va bien|viene bien|funciona)"
    r"|hay (?:espacio|sitio|hueco|lugar|cupo|turno)|tenemos (?:espacio|sitio|hueco|lugar|cupo)"
    r"|(?:el|un|nuestro) tecnico|(?:le|te|los|las|lo|la) podemos atender|podemos atender\w*"
    r"|what day|which day|what time|when (?:works|would|suits|is good|are you free|can you)"
    r"|how(?:'s| is| about| does)|(?:does|would|will) \w+(?: \w+)? (?:work|suit)"
    r"|works? for you|is \w+(?: \w+){0,3} (?:ok|okay|good)|fit you in|squeeze you in"
    r"|can be there|can come (?:by|over|out)|let'?s meet|(?:like|want) to (?:set up|book|schedule)"
    r"|set up an? (?:demo|call|meeting|time)|tech|technician|engineer can"
    r"|veni|venite|vente|vengase|come (?:in|by|over) at"
    r"|we have (?:an? )?(?:opening|slot|space|\d))\b"
)
# A date named as a deadline for the business ("the governors meet on the 3rd, so ideally
# before then", "el jueves tengo la junta, lo necesito antes"): no event of ours.
DEADLINE_THEN = re.compile(
    r"\b(?:before|by) (?:then|that|that date|that day)\b|\bantes de (?:eso|esa fecha|ese dia)\b"
    r"|\bpara entonces\b|\blo necesito antes\b|\bneed it (?:before|by) then\b"
)
# Someone the business sends to the contact's place.
TECHNICIAN = words_pattern(("tecnico", "tecnica", "tech", "technician", "engineer", "installer"))
# "Sí, tráelo el lunes a las 8", "bring it in Monday at 8": an offer only with a time (a
# bare "tráelo a la tienda" … "voy mañana" is a drop-in, not an appointment).
BRING_IT = re.compile(
    r"\b(?:traelo|traela|traelos|traigalo|traigala|traiganlo|traiganla|bring it|drop it off"
    r"|dejalo|pasate|pasese|venite|come on in)\b"
)
# The contact lets the arranged slot go without another ("mejor lo dejo para otro momento",
# "never mind, maybe another time"): as a cancellation.
DECLINE = re.compile(
    r"\b(?:lo dejo para otro|lo dejamos para otro|lo dejo para despues|mejor otro dia|mejor no\b"
    r"|en otro momento|otra ocasion|never ?mind|forget it|i'?ll pass|maybe another time"
    r"|some other time|not anymore|no thanks|no gracias)"
)
# The contact cannot make an arranged event ("no puedo ir a la reunión del lunes", "I can't
# make it Monday"): the next slot the business proposes and they accept moves it.
NOT_ATTEND = re.compile(
    r"\b(?:no (?:puedo|podre|voy a poder|vamos a poder|podemos) (?:ir|asistir|llegar|estar)"
    r"|no llego|can'?t (?:make it|come|attend|be there)|won'?t (?:make it|be able to (?:come|make it)))"
)
# When the contact will answer is not the event's day ("le digo mañana", "I'll let you know
# tomorrow").
ANSWER_LATER = re.compile(
    r"\b(?:le|te|les|os) (?:digo|confirmo|aviso|escribo|contesto|respondo)\b[^.?!]{0,20}"
    r"|\b(?:i'?ll|i will|we'?ll|we will) (?:let you know|get back to you|confirm|text you"
    r"|message you)\b[^.?!]{0,20}"
)
# A day the contact cannot make is not the event's day ("el viernes no puedo, ¿el lunes?").
UNAVAILABLE = re.compile(
    r"\b(?:el |on )?(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo|manana|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday|tomorrow)\s+(?:no (?:puedo|podemos|me va|me viene"
    r"|nos va|nos viene)|(?:is|isn'?t) (?:no good|bad|out)|(?:doesn'?t|won'?t) work)\b"
    r"|\b(?:can'?t|cannot) (?:do|make)(?: it)?(?: on)? (?:monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|tomorrow)\b"
)
# The business undertakes to call at a stated time ("te llamo el jueves a las 10", "I'll call
# you on Thursday at 10"): agreed by the one who will keep it, so an event with no request.
PROMISED_CALL = re.compile(
    r"\b(?:(?:te|le|lo|la|os|les) (?:llamo|llamamos|llamare|llamaremos|llamara|llamaran|marco"
    r"|marcamos|marcara|devuelvo la llamada|vamos a llamar|va a llamar)"
    r"|(?:te|le|lo|la|os|les) (?:vamos a|va a|voy a) (?:llamar|marcar)"
    r"|(?:i|we)(?:'ll| will| can) (?:give you a )?(?:call|ring)(?: you)?"
    r"|\w+(?:'ll| will) (?:give you a (?:call|ring)|call you|ring you))\b"
)
# Opening hours are information, not an appointment ("Sí, el sábado abrimos a las 10").
HOURS_WORDS = (
    "abrimos", "abre", "abren", "abris", "abrira", "abriran", "abierto", "abiertos",
    "cerramos", "cierra", "cierran", "cerrais", "horario", "horarios",
    "open", "opens", "close", "closes", "closed", "opening hours",
)  # fmt: skip
HOURS = words_pattern(HOURS_WORDS)
# … but a free slot is not the opening hours: "we have 10:30 open", "tenemos un hueco".
OPEN_SLOT = re.compile(
    r"\b(?:have|got|there'?s|tenemos|hay)\b[^.?!]{0,25}\bopen\b|\bopen (?:slot|spot|appointment)s?\b"
)


def about_hours(folded: str) -> bool:
    """The business's opening hours, not a slot ("abrimos a las 10", not "10:30 open")."""
    return bool(HOURS.search(folded)) and not OPEN_SLOT.search(folded)


# What the business will send or deliver is not a meeting ("le enviamos la cotización hoy").
DELIVERY = re.compile(
    r"\b(?:envi\w*|mand\w*|send\w*|sent|deliver\w*|entreg\w*|email\w*|correo|inbox)\b"
)
# The business will write back ("mañana te escribo con una solución", "I'll message you
# tomorrow"): a reply promised, not a visit.
WRITE_BACK = re.compile(
    r"\b(?:escrib\w*|message you|text you|get back|write (?:to )?you|te aviso|le aviso|les aviso)\b"
)
# An ordinal pick among the business's options ("the second one", "la primera opción").
ORDINAL = re.compile(
    r"\b(?:(first|primera?|primer)|(second|segunda?)|(third|tercera?)|(last|ultima?))\b"
    r"(?:\s+(?:one|option|opcion|slot|time|hora|fecha|propuesta))?"
)
# A scheduling word negated is not a request: "los pacientes no pueden reservar citas".
NEGATED_REQUEST = re.compile(
    r"\b(?:no (?:\w+ )?|can'?t |cannot |unable to |won'?t let (?:me|us|them) )"
    r"(?:reservar|agendar|pedir|book|schedule|make)\b(?:\s+\w+)?"
)
# Asking whether an appointment is needed at all is a question, not a request.
NO_APPOINTMENT_NEEDED = re.compile(
    r"\b(?:necesito|hace falta|se necesita|hay que (?:pedir|sacar)|ocupo)\s+(?:una\s+)?cita\s+o\b"
    r"|\bsin cita\b|\bdo (?:i|we) need an appointment\b|\bwithout an appointment\b|\bwalk[- ]?ins?\b"
)
# A deadline for something else ("email me the tables by tomorrow") is not an event's day.
DEADLINE = re.compile(
    r"\b(?:by|before|no later than|antes del?|a mas tardar(?: el)?|para antes de)\s+"
    r"(?:tomorrow|today|tonight|manana|hoy|end of|fin de|(?:el |the |this |next )?(?:lunes|martes|miercoles"
    r"|jueves|viernes|monday|tuesday|wednesday|thursday|friday)|the \d{1,2}(?:st|nd|rd|th)?"
    r"|(?:las |la )?\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?)\b"
)
EXISTING = re.compile(
    r"\b(?:tengo|tenemos|ya tengo|i have|we have|i'?ve got|we'?ve got|we'?re|i'?m|estoy|estamos)\b"
    r"(?:\s+\w+){0,2}?\s+(?:agendad[oa]s?|reservad[oa]s?|programad[oa]s?|booked|scheduled)\b"
    r"|\b(?:teniamos|tenia) (?:cita|tutoria|reunion|clase|turno|hora)\b"
)
# The business keeps a booking as it was ("mantenemos la presentación del jueves").
KEPT_WORDS = (
    "mantenemos", "mantiene", "sigue en pie", "sigue igual", "stays", "still on", "keep", "keeping",
)  # fmt: skip
KEPT = words_pattern(KEPT_WORDS)
ALTERNATIVES = re.compile(r"\b(?:o|or)\b")
# Where a call happens on video: the event's location.
VIDEO_WORDS = (
    "videollamada", "video llamada", "zoom", "google meet", "meet", "teams", "video call", "videocall",
)  # fmt: skip
VIDEO = words_pattern(VIDEO_WORDS)
# A service the event is (its title's noun when no topic is given).
SERVICE_WORDS = ("asesoria", "consulta", "consultation", "visita")
SERVICE = words_pattern(SERVICE_WORDS)
# The contact's own noun for the event: its title when no topic is given.
NOUN_WORDS = (
    "cita", "appointment", "entrevista", "interview", "visita tecnica", "taller", "workshop", "clase",
)  # fmt: skip
NOUN = words_pattern(NOUN_WORDS)

OPTION_BREAK = re.compile(r",|;|\bo\b|\bor\b")
# Between the slots of one confirmation: "llamada el lunes a las 10:30 y demo el viernes 8…".
CONFIRMATION_BREAK = re.compile(r";|,?\s+(?:and|y|e)\s+(?=\D)|\.\s+")
CLAUSE_BREAK = re.compile(
    r",?\s+and (?=(?:also )?(?:a|an|another|the)\b)|;\s*|,?\s+y (?=(?:tambien )?(?:una|un|otra|otro|la|el)\b)"
    r"|,\s+(?=(?:a|an|una|un|otra|otro)\b)"
)
