"""The title of a calendar event, cut from what the contact wrote. Pure.

A title comes from, in order: the contact's answer to the business's "what is it about?",
a topic phrase in a message about the event ("para revisar lo de la web", "to go over
the lease renewal", "la cita de asesoría legal", "tomorrow's analytics dashboard demo"),
or the kind of event ("Reunión", "Call"). Positions found in the folded text cut the
original, so accents and capitals survive.
"""

from __future__ import annotations

import re

from hilo.dates import MONTHS, WEEKDAYS
from services.analyzer.rules.text import fold

_WEEKDAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))

# The business asked what the event is about: the next inbound message is the topic.
TOPIC_QUESTION = re.compile(
    r"\btema\b|\bsobre que\b|\bde que\b|\bpara que\b|\basunto\b|\bmotivo\b|\bque producto\b"
    r"|\bque servicio\b|\babout\s*\?|\bwhat would you like to (?:discuss|schedule|cover|talk about)"
    r"|\bwhat (?:is|'s) it (?:about|for)\b|\btopic\b|\bwhat for\b|\bregarding what\b"
    r"|\bwhat (?:product|service)\b|\bwhat do you (?:want|need|would like) to (?:discuss|cover)\b"
)

# Where a topic phrase stops: punctuation, a person, a date or time, a reason.
_TOPIC_END = re.compile(
    r"\s*[.,;:!?¿¡()\n\"]"
    r"|\s(?:antes de|antes del|before|after|despues de|que|which|that|because|porque"
    r"|por favor|please|porfa|if|si se|si es|si puede|so|asap|urgente|urgent|cuando|when)\b"
    rf"|\s(?:(?:el|este|esta|on|on the|the|for|para|para el|el proximo|el dia|this|next|a)\s+)?"
    rf"(?:{_WEEKDAY}|(?:{_MONTH})(?=\s+\d)|manana|tomorrow|today|hoy|tonight|pasado manana|\d)\b"
    r"|\s(?:(?:for|para|on|the)\s+)?(?:next|this|proximo|proxima|que viene|sometime|algun dia)\b"
    r"|\s(?:ante|at the|last|before|and (?:i|i'm|it|it's|we|they|he|she)|y (?:me|no|ya|estoy))\b"
    # Who or what it is for is not the topic: "… para el banco", "… for it".
    r"|\s(?:para (?:el|la|los|las|mi|mis|su|sus|que)|for (?:it|them|me|us))\b"
    r"|\s(?:con|with) (?:ustedes|vosotros|usted|ti|you|us|nosotros)\b"
    r"|\s(?:a las|a la|at|sobre las|tipo|around|to|till|until|hasta las|hasta)\s+(?:\d|una|dos|tres|cuatro|cinco|seis|siete"
    r"|ocho|nueve|diez|once|doce|noon|mediodia)"
)
_LEADING = re.compile(
    r"^(?:(?:pues|bueno|seria|es|era|it's|its|it is|it would be|sobre|about|regarding|re|para"
    r"|for|de|del|de la|de los|de las|lo de|lo del|el tema de|el tema del|el tema|the|a|an"
    r"|our|my|your|un|una|el|la|los|las|mi|mis|nuestro|nuestra|vuestro|vuestra|su|sus)\s+)+"
)
_MEET_FIRST = re.compile(
    r"^(?:quedar|vernos|reunirnos|juntarnos|hablar|charlar|meet|talk|chat)"
    r"(?: un dia| algun dia| pronto| un rato)?(?: y| para| to| and)?(?: ver| hablar de| hablar sobre)?\s+"
)
# Spanish verbs that open a topic, and the noun a title uses instead ("revisar X" → "Revisión de X").
_VERB_NOUNS = {
    "revisar": "Revisión de", "cerrar": "Cierre de", "preparar": "Preparación de",
    "firmar": "Firma de", "planificar": "Planificación de", "presentar": "Presentación de",
    "renovar": "Renovación de", "definir": "Definición de", "ver": "", "hablar de": "",
    "hablar sobre": "", "tratar": "", "discutir": "", "concretar": "", "comentar": "",
    "organizar": "Organización de", "registrar": "Registro de", "instalar": "Instalación de",
    "reparar": "Reparación de", "arreglar": "Reparación de", "declarar": "Declaración de",
    "tramitar": "Trámite de", "actualizar": "Actualización de", "diseñar": "Diseño de",
    "disenar": "Diseño de", "evaluar": "Evaluación de", "limpiar": "Limpieza de",
    "constituir": "Constitución de", "recategorizar": "Recategorización de",
    "digitalizar": "Digitalización de", "hacerme": "", "hacerle": "", "hacer": "", "realizar": "",
    "realizarme": "", "cuadrar": "", "coordinar": "", "agendar": "", "contarme": "",
    "contarnos": "", "explicarme": "", "explicarnos": "", "informarme": "", "informarnos": "",
    "saber": "", "cotizar": "Cotización de", "presupuestar": "Presupuesto de",
    "pintar": "Pintura de", "medir": "Medición de", "mudar": "Mudanza de",
    "sacar": "Extracción de", "sacarme": "Extracción de", "cambiar": "Cambio de",
    "llevar": "", "traer": "",
}  # fmt: skip
_ES_VERB = "|".join(sorted(_VERB_NOUNS, key=len, reverse=True))

# "para revisar lo de la página web", "es para cerrar el contrato", "sobre el plan de marketing"
_ES_TOPIC = re.compile(
    rf"\b(?:para|sobre|por lo de|acerca de|a(?=\s+[a-z]+(?:ar|er|ir)\b(?! las| la)))\s+(?:({_ES_VERB})\s+)?"
    r"(?:el tema de(?:l| la)?\s+|el tema\s+|lo de(?:l| la| los| las)?\s+)?(?=\S)"
)
# "la cita de asesoría legal", "una demo del software", "una asesoría para abrir mi tienda"
_ES_NOUN_TOPIC = re.compile(
    r"\b(cita|reunion|llamada|demo|demostracion|asesoria|consulta|visita|sesion|formacion|curso|taller"
    r"|capacitacion)\s+(de la|de los|de las|del|de|sobre|para|al|a la|a los|a las)\s+"
    rf"(?:({_ES_VERB})\s+)?(?:lo de(?:l| la)?\s+)?(?=\S)"
    # "tutoría con la profe Marta Vidal": who it is with is what names it.
    r"|\b(tutoria|clase|entrevista)\s+(con|de|del|de la)\s+"
    rf"(?:({_ES_VERB})\s+)?(?:lo de(?:l| la)?\s+)?(?=\S)"
)
# "to go over the lease renewal", "to discuss the proposal"
_EN_TOPIC = re.compile(
    r"\bto (discuss|go over|go through|review|talk about|talk through|cover|plan|prepare|walk through)"
    r"\s+(?:the |our |my |your |a |an |some )?(?=\S)"
    r"|\b(?:about|regarding|re:|concerning)\s+(?:the |our |my |your |a |an )?(?=\S)"
    r"|\b(?:appointment|availability|slot|booking|opening|time|come in|stop by|drop by|pop in)s?"
    r"\s+(?:[a-z]+\s+){0,3}?for"
    r"\s+(?:a |an |the |my |our |some )?(?!\d)(?=\S)"
)
# Any other purpose: "to sign the lease", "to finalise our budget".
_EN_PURPOSE = re.compile(
    r"\bto (?!be\b|book\b|schedule\b|set\b|arrange\b|have\b|get\b|meet\b|see\b|reschedule\b"
    r"|move\b|push\b|postpone\b|cancel\b|change\b|call\b|ask\b|confirm\b|let\b|make\b)[a-z]+"
    r"(?: (?:about|over|through|on|up on))?\s+(?:the|our|my|your|a|an|some)\s+(?=\S)"
)
# "booked to see the Brooklyn loft" → "Brooklyn loft viewing"
_EN_VIEWING = re.compile(r"\bto (?:see|view|tour)\s+(?:the |a |an |our |your )(?=\S)")
_EN_DEMO_OF = re.compile(
    r"\b(demo|demonstration|walkthrough|walk-through) of\s+(?:the |your |our |a |an )?(?=\S)"
)
# "a review of the brand guidelines" → "Brand guidelines review"
_EN_NOUN_OF = re.compile(
    r"\b(review|discussion|presentation|overview|audit|planning session|training|tour|viewing"
    r"|visit|inspection) (?:of|on|about)"
    r"\s+(?:the |your |our |my |a |an )?(?=\S)"
)
# "tomorrow's 1pm analytics dashboard demo", "our quarterly review meeting"
_EN_COMPOUND = re.compile(
    r"\b(?:the|our|my|your|a|an|\w+'s)\s+(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)\s+)?"
    r"((?:(?!the\b|our\b|a\b|an\b|quick\b|short\b|brief\b|new\b)[a-z][\w-]*\s+){1,4})"
    r"(demo|meeting|call|review|session|kickoff|consultation|appointment|workshop|visit|inspection"
    r"|tour)\b"
)

# The object of a booking ("agendar el mantenimiento anual", "book the annual inspection",
# "Booked: solar panel inspection on Monday", "mantenemos la presentación de acabados").
_BOOKED_OBJECT = re.compile(
    r"\b(?:agendar|agendarme|programar|reservar|pedir|solicitar|apartar|book|schedule|arrange"
    r"|set up|organi[sz]e|booked:|agendad[oa]:|reservad[oa]:|apuntad[oa]:|confirmad[oa]:"
    r"|mantenemos|hecho:|listo:|done:|done,)"
    r"\s+(?:the |a |an |our |my |your |el |la |los |las |un |una |tu |su |mi )(?=\S)"
)
# "we've got the kitchen survey booked for Monday"
_EN_BOOKED_NOUN = re.compile(
    r"\b(?:the|our|my|your|a|an)\s+((?:[a-z][\w-]*\s+){0,3}[a-z][\w-]*)\s+(?:is\s+)?(?:booked|scheduled)\b"
)
_KIND_NOUN = re.compile(
    r"(?:cita|reunion|llamada|demo|demostracion|meeting|call|appointment|session|sesion|consulta"
    r"|asesoria|visita|hora|turno|slot|time|videollamada|video call|llamda)\b"
)
# A phrase about when, not what ("para la semana que viene").
_WHEN_WORDS = re.compile(
    r"(?:(?:proxima|proximo|next|this|esta|este|la proxima|el proximo)\s+)?"
    r"(?:semana|week|mes|month|dia|day|tarde|manana|morning|afternoon)\b"
)
# English work named by its verb, and the noun a title uses: "look over the lease" → "Lease
# review", "get my car inspected" → "Car inspection", "refinancing my mortgage" → "Mortgage
# refinancing".
EN_VERB_NOUNS = {
    "look over": "review", "go over": "review", "review": "review", "check": "check",
    "sign": "signing", "fix": "repair", "repair": "repair", "inspect": "inspection",
    "service": "service", "clean": "cleaning", "install": "installation", "replace": "replacement",
    "paint": "painting", "renew": "renewal", "file": "filing", "plan": "planning",
    "prepare": "preparation", "audit": "audit", "refinance": "refinancing", "tune": "tune-up",
    "inspected": "inspection", "serviced": "service", "repaired": "repair", "fixed": "repair",
    "cleaned": "cleaning", "checked": "check", "installed": "installation", "replaced": "replacement",
    "painted": "painting", "renewed": "renewal", "looked at": "check", "tuned": "tune-up",
    "refinancing": "refinancing", "renewing": "renewal", "reviewing": "review", "signing": "signing",
    "fixing": "repair", "repairing": "repair", "installing": "installation", "planning": "planning",
    "preparing": "preparation", "filing": "filing", "cleaning": "cleaning", "inspecting": "inspection",
    "replacing": "replacement", "painting": "painting", "servicing": "service",
}  # fmt: skip
_EN_VERB = "|".join(sorted(EN_VERB_NOUNS, key=len, reverse=True))
# "to look over the lease", "refinancing my mortgage": the verb, then its object.
_EN_VERB_OBJECT = re.compile(
    rf"(?:^|\bto |\bwith |\bneed |\bwant |\babout )({_EN_VERB})\s+(?:the|my|our|your|a|an|some)\s+(?=\S)"
    rf"|^({_EN_VERB})\s+(?=\S)"
)
# "get my car inspected": the object, then the past participle.
_EN_GET_DONE = re.compile(
    r"\b(?:get|getting|have|having|need|needs|want|wants)\s+(?:my|our|the|a|an|his|her)\s+"
    rf"((?:[a-z][\w-]*\s+){{0,3}}?[a-z][\w-]*)\s+({_EN_VERB})\b"
)
# "could use help putting together the financial projections", "una mano con el monotributo",
# "saw your fleet tracking software", "nos interesa el software de historias clínicas".
_HELP_WITH = re.compile(
    r"\b(?:help|a hand|assistance)\s+(?:with\s+)?(?:[a-z]+ing(?: together| up| out| over)?\s+)?"
    r"(?:the|my|our|a|an|some)\s+(?=\S)"
    r"|\b(?:interested in|saw|seen|looking at|asking about)\s+(?:your|the|a|an|our)\s+(?=\S)"
    r"|\b(?:ayuda|una mano|apoyo)\s+(?:con|para|en)\s+(?:el|la|los|las|mi|mis|un|una)\s+(?=\S)"
    r"|\b(?:me|nos|les) interesa(?:n|ria)?\s+(?:el|la|los|las|un|una|su|sus)\s+(?=\S)"
    r"|\binteresad[oa]s?\s+en\s+(?:el|la|los|las|un|una|su|sus)\s+(?=\S)"
)
# A business's confirmation names what the event is for: "see you at 10 for the boiler service".
_EN_FOR = re.compile(r"\bfor (?:the|your|a|an|our)\s+(?=\S)")
# … or names it first: "Perfecto, control el lunes 4 a las 17:45", "Booked: solar panel
# inspection on Monday".
_CONFIRMED_NOUN = re.compile(
    r"^\W*(?:perfecto|listo|hecho|genial|confirmado|apuntado|reservado|agendado|booked|done"
    r"|confirmed|all set|great)\W+(?:[^\W\d_]+\s*:\s*)?(?=\S)"
)
# Words that start a sentence about the meeting, not a name for it ("te espero el lunes").
_NOT_A_NAME = {
    "te", "le", "lo", "la", "os", "nos", "se", "les", "me", "ya", "entonces", "queda", "quedamos",
    "see", "you", "we", "i", "it", "that", "this", "we'll", "you're", "gracias", "thanks", "thank",
    "el", "on", "for", "at", "a", "para", "tu", "su", "your", "will", "i'll", "moved",
    "pasa", "llega", "viene", "va", "ira", "estara", "sera", "comes", "arrives", "is", "be",
    "tecnico", "tech", "technician",
}  # fmt: skip
_DATE_NEXT = re.compile(
    rf"\s*(?:el |on |the |this |next |para el )?(?:{_WEEKDAY}|{_MONTH}|\d|manana|tomorrow|hoy|today)\b"
)
# A possessive inside a title reads as the article: "de mi declaración" → "de la declaración".
_ES_POSSESSIVE = re.compile(
    r"\b(?:mi|tu|su|nuestra|nuestro|vuestra|vuestro)\s+(\w+)", re.IGNORECASE
)
_EN_POSSESSIVE = re.compile(r"\b(?:my|our|his|her|their)\s+", re.IGNORECASE)

# Words a cut phrase must not end on ("appointment from" → "appointment").
_TRAILING = {
    "from", "for", "on", "at", "to", "with", "by", "of", "the", "and", "de", "del", "para",
    "con", "el", "la", "a", "y", "en", "por", "al", "mi", "my", "our",
}  # fmt: skip
GENERIC = {
    "reunion", "cita", "llamada", "demo", "meeting", "call", "appointment", "eso", "esto",
    "it", "this", "that", "nada", "session", "sesion", "ok", "si", "yes", "no", "vale", "sure", "algo", "something",
    "una reunion", "a meeting", "a call", "una cita", "una llamada", "consulta", "asesoria",
    "no se", "da igual", "nada en especial", "lo que sea", "general", "i don't know",
    "dunno", "nothing", "nothing specific", "anything", "whatever", "not sure", "no lo se",
}  # fmt: skip
SERVICE_NOUNS = {
    "asesoria": "Asesoría", "consulta": "Consulta", "demo": "Demo", "demostracion": "Demo",
    "formacion": "Formación", "curso": "Curso", "taller": "Taller", "capacitacion": "Capacitación",
    "visita": "Visita", "tutoria": "Tutoría", "clase": "Clase", "entrevista": "Entrevista",
}  # fmt: skip
EN_SERVICE_NOUNS = {"consultation": "consultation", "demo": "demo"}


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _phrase_at(original: str, start: int) -> str | None:
    """The topic phrase that starts at ``start``, cut where the topic ends."""
    folded = fold(original)
    rest = folded[start:]
    end = _TOPIC_END.search(" " + rest)
    stop = start + (end.start() - 1 if end else len(rest))
    phrase = original[start : max(stop, start)].strip()
    # Leading articles and connectors go, and so does the meeting itself ("quedar un día y
    # ver el local" → "local"), in any order.
    while lead := (_LEADING.match(fold(phrase)) or _MEET_FIRST.match(fold(phrase))):
        phrase = phrase[lead.end() :]
    words = phrase.split()
    if not words or len(words) > 9:
        words = words[:9]
    while words and fold(words[-1]) in _TRAILING:
        words = words[:-1]
    phrase = _without_possessives(" ".join(words))
    # Emoji and symbols at the ends are decoration, not title.
    phrase = re.sub(r"^[^\w¿¡]+|[^\w)]+$", "", phrase)
    if not phrase or fold(phrase) in GENERIC or not re.search(r"[^\W\d_]{3}", phrase):
        return None
    if _WHEN_WORDS.match(fold(phrase)):
        return None
    return phrase


def _without_possessives(phrase: str) -> str:
    def article(m: re.Match[str]) -> str:
        noun = m.group(1)
        feminine = fold(noun).endswith(("a", "ion", "dad", "tad", "tud", "umbre"))
        return f"{'la' if feminine else 'el'} {noun}"

    phrase = _ES_POSSESSIVE.sub(article, phrase)
    phrase = re.sub(r"\b([Dd])e el\b", r"\1el", re.sub(r"\b([Aa]) el\b", r"\1l", phrase))
    return _EN_POSSESSIVE.sub("", phrase)


_EN_KIND_FOR = re.compile(
    r"^(kickoff|kick-off|meeting|review|session|call|demo|consultation|workshop|training|visit"
    r"|inspection|appointment) (?:for|about|on) (?:the|a|an|our|my|your) (.+)$",
    re.IGNORECASE,
)


def _en_reordered(phrase: str) -> str:
    """ "renewing contract" → "Contract renewal": a leading gerund becomes a noun after;
    "kickoff for the mobile app project" → "Mobile app project kickoff"."""
    if m := _EN_KIND_FOR.match(phrase):
        noun = m.group(1).lower()
        if noun != "appointment":
            return _capitalise(f"{m.group(2)} {noun}")
        return _capitalise(m.group(2))
    first, _, rest = phrase.partition(" ")
    noun = EN_VERB_NOUNS.get(fold(first))
    if noun and rest and first.endswith("ing"):
        return _capitalise(f"{rest} {noun}")
    return phrase


def _en_nominalized(text: str, folded: str) -> str | None:
    """ "look over the lease" → "Lease review"; "get my car inspected" → "Car inspection"."""
    if m := _EN_GET_DONE.search(folded):
        thing = text[m.start(1) : m.end(1)]
        if fold(thing) not in GENERIC:
            return _capitalise(f"{thing} {EN_VERB_NOUNS[m.group(2)]}")
    for m in _EN_VERB_OBJECT.finditer(folded):
        verb = m.group(1) or m.group(2)
        phrase = _phrase_at(text, m.end())
        if phrase:
            phrase = re.split(r"\s+for\s+", phrase, maxsplit=1, flags=re.IGNORECASE)[0]
            return _capitalise(f"{phrase} {EN_VERB_NOUNS[verb]}")
    return None


def _es_with_verb(verb: str | None, phrase: str) -> str:
    """ "revisar" + "declaración de la renta" → "Revisión de la declaración de la renta"."""
    noun = _VERB_NOUNS.get(verb or "", "")
    if not noun:
        return phrase
    first = fold(phrase.split()[0]) if phrase.split() else ""
    if noun.endswith(" de") and first not in _ARTICLES and not phrase[:1].isupper():
        feminine = first.endswith(("a", "ion", "dad", "tad", "tud", "umbre"))
        phrase = f"{'la' if feminine else 'el'} {phrase}"
    joined = f"{noun} {phrase}"
    return re.sub(r"\bde el\b", "del", joined)


_ARTICLES = {"el", "la", "los", "las", "un", "una", "lo"}
# "quería renovar el pasaporte", "necesito registrar mi marca": the work asked for, by its verb.
_ES_WANTED = re.compile(
    rf"\b(?:quiero|queria|quisiera|necesito|necesitaria|me gustaria|tengo que|hay que)\s+({_ES_VERB})\s+"
    r"(?=\S)"
)


def from_answer(text: str, language: str, service: str | None) -> str | None:
    """A title from the contact's answer to "what is it about?" (the whole message)."""
    folded = fold(text).strip()
    verb = None
    opener = re.match(
        rf"^(?:es |seria |pues )?(?:para |sobre )?(?:(?:necesito|quiero|quisiera|queria|me gustaria"
        rf"|tengo que|hay que)\s+)?({_ES_VERB})\s+",
        folded,
    )
    offset = 0
    if language == "es" and opener:
        verb, offset = opener.group(1), opener.end()
    if language == "en" and (nominal := _en_nominalized(text, folded)):
        return _compose(nominal, language, service, None)
    if language == "en" and (phrase := _phrase_at(text, 0)):
        return _compose(_en_reordered(phrase), language, service, None)
    connector = re.match(r"^(?:de la|de los|de las|del|de|para|sobre)\b", folded[offset:])
    phrase = _phrase_at(text, offset)
    if phrase is None:
        return None
    return _compose(
        _es_with_verb(verb, phrase), language, service, connector and connector.group(0)
    )


def _compose(phrase: str, language: str, service: str | None, connector: str | None) -> str:
    if service and fold(service) not in fold(phrase):
        if language == "en":
            return _capitalise(f"{phrase} {EN_SERVICE_NOUNS.get(service, service)}")
        label = SERVICE_NOUNS.get(service, _capitalise(service))
        return f"{label} {connector or 'de'} {phrase}"
    return _capitalise(phrase)


def _booked_object(text: str, folded: str) -> str | None:
    for m in _BOOKED_OBJECT.finditer(folded):
        if _KIND_NOUN.match(folded, m.end()):
            continue
        phrase = _phrase_at(text, m.end())
        if phrase:
            return _capitalise(phrase)
    for m in _EN_BOOKED_NOUN.finditer(folded):
        if not _KIND_NOUN.match(folded, m.start(1)) and fold(m.group(1)) not in GENERIC:
            return _capitalise(text[m.start(1) : m.end(1)])
    return None


def from_confirmation(text: str, language: str, service: str | None) -> str | None:
    """The topic a business's confirmation names ("te espero el lunes a las 9 para la cata
    de vinos", "see you Saturday at 10 for the boiler service")."""
    title = from_cues(text, language, service)
    folded = fold(text)
    if title is None and (m := _CONFIRMED_NOUN.match(folded)):
        title = _confirmed_noun(text, folded, m.end(), language, service)
    if title is None and language == "en":
        for m in _EN_FOR.finditer(folded):
            if _KIND_NOUN.match(folded, m.end()):
                continue
            phrase = _phrase_at(text, m.end())
            if phrase:
                return _compose(phrase, language, service, None)
    return title


def _confirmed_noun(
    text: str, folded: str, start: int, language: str, service: str | None
) -> str | None:
    """ "control" in "Perfecto, control el lunes 4": a short name right before the date."""
    phrase = _phrase_at(text, start)
    if not phrase or len(phrase.split()) > 3 or _KIND_NOUN.match(fold(phrase)):
        return None
    words = set(fold(phrase).split())
    if words & _NOT_A_NAME:
        return None
    after = folded[folded.find(fold(phrase), start) + len(phrase) :]
    if not _DATE_NEXT.match(after):
        return None
    return _compose(phrase, language, service, None)


def _help_with(text: str, language: str, service: str | None) -> str | None:
    folded = fold(text)
    for m in _HELP_WITH.finditer(folded):
        phrase = _phrase_at(text, m.end())
        if phrase:
            return _compose(phrase, language, service, None)
    return None


def from_cues(text: str, language: str, service: str | None) -> str | None:
    """A title from a topic phrase inside a message about the event; None when there is none."""
    title = _from_topic_cues(text, language, service)
    if title is None and language == "en":
        title = _en_nominalized(text, fold(text))
        if title is not None:
            title = _compose(title, language, service, None)
    if title is None:
        title = _help_with(text, language, service)
    if title is None and not service:
        title = _booked_object(text, fold(text))
    return title


def _from_topic_cues(text: str, language: str, service: str | None) -> str | None:
    folded = fold(text)
    if language == "en":
        for m in _EN_DEMO_OF.finditer(folded):
            phrase = _phrase_at(text, m.end())
            if phrase:
                # "a demo of your CRM for my sales team": who it is for is not the topic.
                phrase = re.split(r"\s+for\s+", phrase, maxsplit=1, flags=re.IGNORECASE)[0]
                noun = "demo" if m.group(1).startswith("demo") else m.group(1)
                return _capitalise(f"{phrase} {noun}")
        for m in _EN_VIEWING.finditer(folded):
            phrase = _phrase_at(text, m.end())
            if phrase:
                return _capitalise(f"{phrase} viewing")
        for m in _EN_NOUN_OF.finditer(folded):
            phrase = _phrase_at(text, m.end())
            if phrase:
                return _capitalise(f"{phrase} {m.group(1)}")
        for m in _EN_TOPIC.finditer(folded):
            phrase = _phrase_at(text, m.end())
            if phrase:
                verb = m.group(1)
                if verb == "discuss":
                    return _capitalise(f"{phrase} discussion")
                if verb == "review" and "review" not in fold(phrase):
                    return _capitalise(f"{phrase} review")
                phrase = _en_reordered(phrase)
                return _compose(phrase, language, service, None)
        if nominal := _en_nominalized(text, folded):
            return _compose(nominal, language, service, None)
        for m in _EN_PURPOSE.finditer(folded):
            phrase = _phrase_at(text, m.end())
            if phrase:
                return _compose(phrase, language, service, None)
        for m in _EN_COMPOUND.finditer(folded):
            words = text[m.start(1) : m.end(2)]
            if fold(m.group(1)).strip() not in GENERIC:
                return _capitalise(words.strip())
        return None
    for m in _ES_NOUN_TOPIC.finditer(folded):
        phrase = _phrase_at(text, m.end())
        if not phrase:
            continue
        noun, connector = m.group(1) or m.group(4), m.group(2) or m.group(5)
        phrase = _es_with_verb(m.group(3) or m.group(6), phrase)
        if noun in SERVICE_NOUNS:
            return f"{SERVICE_NOUNS[noun]} {connector} {phrase}"
        if noun == "sesion":
            return f"Sesión {connector} {phrase}"
        return _capitalise(phrase)
    for m in _ES_TOPIC.finditer(folded):
        phrase = _phrase_at(text, m.end())
        if phrase:
            return _compose(_es_with_verb(m.group(1), phrase), language, service, None)
    for m in _ES_WANTED.finditer(folded):
        if not _VERB_NOUNS.get(m.group(1)):
            continue
        phrase = _phrase_at(text, m.end())
        if phrase:
            return _compose(_es_with_verb(m.group(1), phrase), language, service, None)
    return None


def default_title(kind: str, language: str, service: str | None, noun: str | None = None) -> str:
    if noun and not service:
        return _capitalise(noun.replace("tecnica", "técnica"))
    if service:
        if language == "en":
            return _capitalise(EN_SERVICE_NOUNS.get(service, service))
        return SERVICE_NOUNS.get(service, _capitalise(service))
    names = {
        "es": {"call": "Llamada", "demo": "Demo", "meeting": "Reunión"},
        "en": {"call": "Call", "demo": "Demo", "meeting": "Meeting"},
    }
    return names.get(language, names["es"])[kind]


# What broke, in the contact's words: "the garage door remote stopped working", "The printer
# you guys installed keeps jamming", "furnace stopped working overnight".
_BROKEN_THING = re.compile(
    r"(?:^|\b(?:the|my|our|your)\s+)((?:[a-z][\w-]*\s+){0,3}?[a-z][\w-]*)"
    r"(?:\s+(?:you|we|they|i)(?:\s+\w+){1,2})?\s+"
    r"(?:stopped|keeps?|isn'?t|is not|won'?t|doesn'?t|broke|is broken|is leaking|has stopped|quit)\b"
)


def technician_visit(language: str) -> str:
    return "Visita técnica" if language != "en" else "Technician visit"


def repair_title(problem: str, language: str) -> str:
    """A visit to fix what the contact reported: "Visita técnica", "Printer repair"."""
    if language != "en":
        return "Visita técnica"
    folded = fold(problem)
    found = _BROKEN_THING.search(folded)
    if found is None:
        return "Repair visit"
    start = found.start(1)
    if article := re.match(r"(?:the|my|our|your)\s+", folded[start:]):
        start += article.end()
    thing = problem[start : found.end(1)]
    if not thing or fold(thing) in GENERIC or fold(thing) in {"it", "this", "that", "something"}:
        return "Repair visit"
    return _capitalise(f"{thing} repair")


def with_service(title: str, language: str, service: str | None) -> str:
    """A topic guessed before the event's kind was known, named as the service it is:
    "Software de historias clínicas" for a demo → "Demo de software de historias clínicas"."""
    if not service or fold(service) in fold(title):
        return title
    lowered = title[0].lower() + title[1:] if len(title) > 1 and title[1].islower() else title
    return _compose(lowered, language, service, None)


_WORD = re.compile(r"[^\W\d_]+")


def learn_spelling(spelling: dict[str, str], text: str) -> None:
    """Remembers the accented words of a text by their folded form."""
    for word in _WORD.findall(text):
        if fold(word) != word.lower():
            spelling[fold(word)] = word.lower()


def respelled(title: str, spelling: dict[str, str]) -> str:
    """The title with each unaccented word written as the business spelled it."""

    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        known = spelling.get(word.lower()) if fold(word) == word.lower() else None
        if known is None:
            return word
        return known[:1].upper() + known[1:] if word[:1].isupper() else known

    return _WORD.sub(one, title)
