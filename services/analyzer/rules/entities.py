"""People, organizations, emails, phones, amounts and dates named in a conversation. Pure.

Names are found by their shape (capitalised words) and their place ("con Javier Morales,
de Construcciones Ibéricas", "Sarah Chen from Northwind Logistics", "su abogada, Ana
Ruiz", "Harlow & Finch"); greetings, weekdays and the contact's own name are left out.
Emails and phone numbers use their own patterns (``phonenumbers`` for phones).
"""

from __future__ import annotations

import re

import phonenumbers

from services.analyzer.models import Conversation, EntityFound
from services.analyzer.rules.text import fold

_UPPER = "A-ZÁÉÍÓÚÑÜ"
_LOWER = "a-záéíóúñüç'"
# "O'Brien", "FastLane": capitals inside a word; "I'll" is not a name.
_NAME_WORD = rf"(?!I'|I’)[{_UPPER}][{_LOWER}]+(?:[{_UPPER}][{_LOWER}]+)?"
_CONNECT = r"(?:\s(?:de|del|de la|van|von|da|dos|das|of|&)\s|\s)"
_SEQUENCE = re.compile(
    rf"(?<![\w@])({_NAME_WORD}(?:{_CONNECT}(?:{_NAME_WORD}|[{_UPPER}]{{2,}}\.?))+|[{_UPPER}][\w]*\s?&\s?[{_UPPER}][\w]*)"
    rf"(\s(?:Ltd|Inc|LLC|Corp|GmbH|S\.?A\.?|S\.?L\.?|S\.?A\.?S\.?|Co|PLC|SAS)\b\.?)?"
)
_ORG_SUFFIX = re.compile(r"\b(?:Ltd|Inc|LLC|Corp|GmbH|S\.?A|S\.?L|SAS|Co|PLC|Group|Grupo)\b|&")
_ORG_HEAD = {
    "clinica", "construcciones", "constructora", "hospital", "empresa", "empresas",
    "distribuidora", "comercial", "talleres", "servicios", "abogados", "asociados", "banco", "grupo", "universidad", "colegio", "hotel",
    "restaurante", "inmobiliaria", "farmacia", "consultora", "asesoria", "despacho", "bufete",
    "fundacion", "instituto", "laboratorios", "industrias", "transportes", "seguros",
    "logistics", "solutions", "systems", "consulting", "partners", "labs", "bank", "university",
    "clinic", "studio", "estudio", "agencia", "agency", "ltd", "inc", "corp", "technologies",
    "tech", "software", "holdings", "capital", "media", "foods", "motors", "group",
    "couriers", "courier", "realty", "realtors", "properties", "insurance", "shipping",
    "express", "dental", "auditores", "consultores", "associates", "services", "energy",
    "logistica", "legal", "marketing", "design", "health", "pharma", "telecom", "airlines",
    "taqueria", "negocio", "tienda", "cafeteria", "panaderia", "pasteleria", "peluqueria",
    "gimnasio", "academia", "escuela", "restaurant", "bakery", "shop", "store", "salon", "gym",
    "academy", "school", "primary", "cafe", "bar", "hostal", "hostel", "club", "cooperativa",
}  # fmt: skip
# Capitals that name a role or a thing, not an organization ("our CEO", "el IVA", "ASAP").
_NOT_ORG_ACRONYMS = {
    "CEO", "CTO", "CFO", "COO", "CMO", "CRM", "ERP", "ASAP", "OK", "IVA", "PDF", "SMS", "AM", "PM",
    "USD", "EUR", "MXN", "COP", "ARS", "GBP", "RFC", "CURP", "DNI", "NIE", "NIF", "CUIT", "IT", "TV",
    "AC", "VIP", "GPS", "WIFI", "HR", "CV", "FAQ", "URL", "APP", "API", "SEO", "QR", "ID", "PIN",
    "USB", "LED", "SUV", "ATM", "DIY", "FYI", "BTW", "TBD", "ETA", "EOD", "RSVP", "HVAC",
}  # fmt: skip
# "the IRS", "ante el IMPI", "The UPS guy": an organization known by its letters.
_ACRONYM_ORG = re.compile(
    r"\b(?:the|el|la|al|del|ante el|ante la|from the|de la|por|with|con|at)\s+([A-Z]{2,5})\b(?![-'’])",
    re.IGNORECASE,
)
# "por Estafeta", "la cuenta de Bancolombia", "next to the Target": one capitalised word where
# only an organization goes (a carrier, a bank account, a shop as a landmark).
_PLACE_ORG = re.compile(
    rf"\b(?:por|via|vía|with|con|by) ({_NAME_WORD})(?=,|\.|\s+(?:llega|arrives|tarda|takes))"
    rf"|\b(?:cuenta|tarjeta|account|card) (?:de|del|en|with|at|from) ({_NAME_WORD})\b"
    rf"|\b(?:next to|across from|behind|near|junto al?|frente al?|al lado del?) (?:the |el |la )?({_NAME_WORD})\b"
)
# "un tal Sergio", "Hi Rachel!", "thank you to Sophie", "Got your number from Ben".
_NAMED_PERSON = re.compile(
    rf"\b(?i:un tal|una tal|someone called|a guy (?:called|named)|se llama|named) ({_NAME_WORD})\b"
    rf"|\b(?i:thank you|thanks|gracias|agradecer) (?i:to|a) ({_NAME_WORD})\b"
    rf"|\b(?i:number|details|contact|n[uú]mero|contacto|datos) (?i:from|de parte de|por)"
    rf" ({_NAME_WORD})\b"
    rf"|\b(?i:recommended by|referred by|me (?:recomend[oó]|pas[oó]|di[oó])(?: tu| su)?"
    rf"(?: n[uú]mero| contacto)?)\s+({_NAME_WORD})\b(?!\s+[{_UPPER}])"
)
_GREETED = re.compile(
    rf"^\W*(?i:hi|hello|hey|hola|buenas|buenos d[ií]as|buen d[ií]a|good morning|morning|dear|querid[oa])"
    rf",?\s+({_NAME_WORD})\b(?!\s+[{_UPPER}])"
)
_ORG_CUE = re.compile(r"(?:\bfrom|\bat|\bde la|\bdel|\bde|\ben|\bpara)\s+$", re.IGNORECASE)
_STOP = {
    "hola", "buenos", "buenas", "buen", "dia", "dias", "tardes", "noches", "gracias", "good",
    "morning", "hi", "hello", "hey", "dear", "happy", "thanksgiving", "merry", "christmas",
    "feliz", "navidad", "please", "thanks", "thank", "our", "the", "this", "we", "i", "it",
    "el", "la", "los", "las", "un", "una", "mi", "su", "nuestro", "nuestra", "vale", "ok",
    "perfecto", "genial", "listo", "urgent", "urgente", "sorry", "lo", "si", "yes", "no",
    "oigan", "oye", "disculpa", "estimado", "estimada", "saludos", "regards", "booked", "done",
    "agendado", "apuntado", "hecho", "cita", "reunion", "meeting", "demo", "call", "llamada",
}  # fmt: skip
_CALENDAR_WORDS = {
    "lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "enero", "febrero",
    "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
    "diciembre", "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "pm", "am",
}  # fmt: skip
_TITLES = re.compile(r"^(?:Dr|Dra|Sr|Sra|Srta|Mr|Mrs|Ms|Doctor|Doctora|Don|Doña)\.?\s+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AMOUNT = re.compile(
    r"(?:[$€£]\s?\d[\d.,]*(?:\s?(?:k|mil|millones|m))?|\d[\d.,]*\s?(?:€|euros?|dolares|dólares|usd|eur"
    r"|pesos|mxn|cop|libras|pounds|dollars|k\b)(?:\s(?:a|al|per|por)\s(?:month|mes|year|ano|año))?)",
    re.IGNORECASE,
)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s&]+", fold(name)) if w]


def _is_organization(name: str, before: str) -> bool:
    words = _words(name)
    if _ORG_SUFFIX.search(name) or (words and (words[0] in _ORG_HEAD or words[-1] in _ORG_HEAD)):
        return True
    return bool(_ORG_CUE.search(before))


_AFFILIATION = re.compile(r"\s(?:de la|del|de|of|from)\s")


def _split_affiliation(name: str) -> list[tuple[str, str]]:
    """ "Paula Rojas de Constructora Andina": a full name, then where the person is from."""
    m = _AFFILIATION.search(name)
    if m is None:
        return [(name, "")]
    left, right = name[: m.start()], name[m.end() :]
    right_words = _words(right)
    org_like = bool(_ORG_SUFFIX.search(right)) or bool(right_words and right_words[0] in _ORG_HEAD)
    if len(left.split()) >= 2 or org_like:
        return [(left, "person"), (right, "organization")]
    return [(name, "")]


def _names(text: str, excluded: set[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in _SEQUENCE.finditer(text):
        whole = (m.group(1) + (m.group(2) or "")).strip().rstrip(".")
        for part, forced in _split_affiliation(whole):
            found.extend(_checked(part, forced, text[: m.start()], excluded))
    return found


def _checked(name: str, forced: str, before: str, excluded: set[str]) -> list[tuple[str, str]]:
    """The name, typed, unless it is a greeting, a date or the contact."""
    name = _TITLES.sub("", name)
    # "Our CEO Linda Park": the role is not the name.
    name = re.sub(
        r"^(?:(?:Our|My|Your|Nuestr[oa]|Mi|Su)\s+)?(?:[A-Z]{2,5}\s+)+(?=[A-Z][a-z])", "", name
    )
    words = _words(name)
    # "restaurante La Barraca": after the kind of business, the article is part of the name.
    head = _words(before)[-1:] if before.strip() else []
    after_head = bool(head) and head[0] in _ORG_HEAD and len(words) >= 2
    dated = any(w in _CALENDAR_WORDS for w in words)
    if after_head and words[0] in {"la", "el", "los", "las"} and not dated:
        return [("organization", name)]
    while words and (words[0] in _STOP or words[0] in _CALENDAR_WORDS):
        name = name.split(maxsplit=1)[1] if " " in name else ""
        words = words[1:]
    if len(words) < 2 and not _ORG_SUFFIX.search(name):
        return []
    # "Restaurante La Ceiba": an organization's name may hold an article.
    articles = {"la", "el", "los", "las"} if words[0] in _ORG_HEAD else set()
    if any((w in _STOP and w not in articles) or w in _CALENDAR_WORDS for w in words):
        return []
    if fold(name) in excluded or set(words) <= excluded:
        return []
    kind = forced or ("organization" if _is_organization(name, before) else "person")
    return [(kind, name)]


# A single capitalised word is a name only where its place says so.
_TITLED = re.compile(
    rf"\b(?:Sr|Sra|Srta|Dr|Dra|Mr|Mrs|Ms|Lic|Ing)\.?\s+({_NAME_WORD}(?:\s{_NAME_WORD})?)"
    rf"|\b(?:señor|señora|señorita|doctor|doctora|licenciad[oa]|ingenier[oa])\s+({_NAME_WORD}(?:\s{_NAME_WORD})?)"
)
_NAMED_ORG = re.compile(
    rf"\b(?:la empresa|empresa|la compañía|compañía|company|trabajo en|trabajamos en|work at|work for"
    rf"|works at|works for|de parte de|on behalf of)\s+({_NAME_WORD}|[{_UPPER}]{{2,}})\b"
)
# One first name where its place says it is a person: "mi hija Emma", "la madre de Lucas",
# "gracias a Quique", "Mike from our team", "Jake will meet you".
_RELATED_PERSON = re.compile(
    rf"\b(?:mi|my|our|nuestr[oa]) (?:hij[oa]|son|daughter|esposa?|esposo|marido|mujer|husband|wife"
    rf"|padre|madre|mama|papa|hermana?|hermano|brother|sister|socio|socia|partner|jefe|jefa|boss)"
    rf",? ({_NAME_WORD})\b"
    rf"|\b(?:madre|padre|mama|papa|mother|father|mom|dad|parent) (?:de|of) ({_NAME_WORD})\b"
    rf"|\b(?:gracias a|dile a|dadle las gracias a|digo ahora mismo a|thanks to|thank) ({_NAME_WORD})\b"
    rf"|\b({_NAME_WORD}) (?:from (?:our|the) team|de nuestro equipo|will (?:meet|call|be|see|show)"
    rf"|is (?:logging|on it|looking|coming))\b"
)
_WITH_PERSON = re.compile(rf"\b(?:con|with|and|y)\s+({_NAME_WORD})\b(?!\s[{_UPPER}])")


def _single_names(text: str, excluded: set[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in _TITLED.finditer(text):
        name = m.group(1) or m.group(2)
        if fold(name) not in excluded:
            found.append(("person", name))
    for m in _NAMED_ORG.finditer(text):
        name = m.group(1)
        if fold(name) not in _STOP and fold(name) not in _CALENDAR_WORDS:
            found.append(("organization", name))
    for m in _RELATED_PERSON.finditer(text):
        name = next(g for g in m.groups() if g)
        folded = fold(name)
        if folded not in _STOP and folded not in _CALENDAR_WORDS and folded not in excluded:
            found.append(("person", name))
    for m in _NAMED_PERSON.finditer(text):
        name = next(g for g in m.groups() if g)
        if (
            fold(name) not in _STOP
            and fold(name) not in _CALENDAR_WORDS
            and fold(name) not in excluded
        ):
            found.append(("person", name))
    for m in _ACRONYM_ORG.finditer(text):
        name = m.group(1)
        if name.isupper() and name not in _NOT_ORG_ACRONYMS:
            found.append(("organization", name))
    for m in _PLACE_ORG.finditer(text):
        name = next(g for g in m.groups() if g)
        if (
            fold(name) not in _STOP
            and fold(name) not in _CALENDAR_WORDS
            and fold(name) not in excluded
        ):
            found.append(("organization", name))
    for m in _WITH_PERSON.finditer(text):
        name = m.group(1)
        folded = fold(name)
        if folded not in _STOP and folded not in _CALENDAR_WORDS and folded not in excluded:
            found.append(("person", name))
    return found


def find_entities(conversation: Conversation) -> tuple[EntityFound, ...]:
    contact = conversation.contact.name or ""
    excluded = {fold(contact)} | set(_words(contact))
    seen: dict[tuple[str, str], list[str]] = {}

    def add(kind: str, text: str, message_id: str) -> None:
        sources = seen.setdefault((kind, text), [])
        if message_id not in sources:
            sources.append(message_id)

    for message in conversation.messages:
        text = message.text
        for kind, name in [*_names(text, excluded), *_single_names(text, excluded)]:
            add(kind, name, message.id)
        greeted = _GREETED.match(text) if message.direction == "inbound" else None
        if greeted and fold(greeted.group(1)) not in _STOP | _CALENDAR_WORDS | excluded:
            add("person", greeted.group(1), message.id)
        for email in _EMAIL.findall(text):
            add("email", email, message.id)
        for amount in _AMOUNT.findall(text):
            add("amount", amount.strip(), message.id)
        if message.direction == "inbound":
            for match in phonenumbers.PhoneNumberMatcher(text, "US"):
                number = phonenumbers.format_number(
                    match.number, phonenumbers.PhoneNumberFormat.E164
                )
                add("phone", number, message.id)
    return tuple(
        EntityFound(type=kind, text=text, source_message_ids=tuple(ids))
        for (kind, text), ids in seen.items()
    )
