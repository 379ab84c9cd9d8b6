"""Which of the business's facts a contact asks about: pure, no I/O.

Structured facts (hours, address, prices, the list of services) are recognised by the
words that ask for them; the FAQ and the services by retrieval: BM25 (`rank-bm25`) over
Snowball stems (`snowballstemmer`) of Spanish *and* English, so "¿se puede pagar con
tarjeta?" finds "¿Qué formas de pago aceptáis?" and "parking" finds the English twin of
"¿Tenéis aparcamiento?". BM25 ranks; the confidence is the share of the question's
content words found in the best entry, so a question about something the profile does
not mention ("¿hacéis implantes?") scores low and goes to a person instead of getting
the nearest wrong answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import snowballstemmer
from rank_bm25 import BM25Okapi

from hilo.business import BusinessProfile, FaqEntry, ServiceOffered
from hilo.text import fold

# Below this share of its content words found in one entry, a question is not answered.
CONFIDENCE = 0.6

_WORD = re.compile(r"[^\W_]+")

# Function words, greetings and the verbs every question uses: they say nothing about
# *what* is asked, and would let any question match any entry.
_STOP = frozenset(
    """
    a al algo alguien alguna alguno algun ante antes aqui asi bien buen buena buenas buenos
    como con cual cuales cuando de del desde donde dos el ella ellos en entre era es esa ese
    eso esta estais estan estas este esto estoy fue ha hace haceis hacen hacer hay he hola
    la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o os otra otro para
    pero poco por porfa porque puede pueden puedo podeis podria pregunta preguntar queria
    quiero quisiera que quien saber se sea ser si sin sobre son soy su sus tambien te teneis
    tengo tiene tienen todo todos tu tus un una uno unos usted ustedes vale vosotros y ya
    gracias favor dias tardes noches info informacion hi hello hey good morning afternoon
    evening thanks thank please the an and or of to in on at by for with from about as is
    are was were be been am do does did have has had can could would should will shall may
    might i me my we our you your they them their it its this that these those there here
    what which who whom when where why how any some much many more most just also tell know
    want wanted like need get got ask question not no yes ok okay
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

_HOURS = re.compile(
    r"\b(?:horarios?|abr(?:e|en|eis|is|ir|imos|ira|iran)|abiert[oa]s?|cierr(?:a|an|as)"
    r"|cerr(?:ais|ado|ados|ada|adas|amos)|a que hora|hasta que hora|atendeis hoy"
    r"|hours?|open(?:s|ing)?|clos(?:e|es|ed|ing))\b"
)
_ADDRESS = re.compile(
    r"\b(?:direccion|donde (?:estais|estan|esta|quedais|queda|quedan|os encuentro|se encuentran)"
    r"|ubicad[oa]s?|ubicacion|como (?:llego|se llega)|address|where (?:are|is) (?:you|the)"
    r"|located|location|how (?:do|can) i get)\b"
)
_PRICE = re.compile(
    r"\b(?:precios?|cuesta|cuestan|cuanto (?:vale|valen|sale|salen|cobrais|cobran|es)"
    r"|tarifas?|coste|costo|presupuesto|prices?|pricing|costs?|how much|fees?|rates?)\b"
)
_SERVICE_LIST = re.compile(
    r"\b(?:que (?:servicios|tratamientos)|servicios (?:ofreceis|teneis|tienen|ofrecen)"
    r"|(?:what|which) (?:services|treatments)|services do you)\b"
)
_QUESTION_START = re.compile(
    r"(?:^|[.!,;]\s*)(?:que|cual|cuales|cuando|donde|como|cuanto|cuanta|cuantos|teneis|tienen"
    r"|hay|haceis|hacen|puedo|podeis|pueden|se puede|aceptais|aceptan|atendeis|atienden"
    r"|trabajais|trabajan|what|when|where|how|which|who|do you|does|can i|can you|is there"
    r"|are you|are there|is it)\b"
)


def is_question(text: str) -> bool:
    folded = fold(text)
    return "?" in text or "¿" in text or bool(_QUESTION_START.search(folded.strip()))


@lru_cache(maxsize=2)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


@lru_cache(maxsize=8192)
def _stems(word: str) -> tuple[str, ...]:
    """Both languages' stems: a profile and a question may each mix Spanish and English."""
    spanish = _stemmer("spanish").stemWord(word)
    english = _stemmer("english").stemWord(word)
    return (spanish,) if spanish == english else (spanish, english)


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(fold(text)) if w not in _STOP and len(w) > 1]


def terms(text: str) -> list[str]:
    return [stem for word in content_words(text) for stem in _stems(word)]


@dataclass(frozen=True)
class Entry:
    kind: Literal["faq", "service"]
    index: int
    stems: frozenset[str]


@dataclass(frozen=True)
class Found:
    entry: Entry
    confidence: float


def _coverage(question: Sequence[str], entry: Entry) -> float:
    """Share of the question's content words with a stem in the entry."""
    if not question:
        return 0.0
    hits = sum(1 for word in question if any(s in entry.stems for s in _stems(word)))
    return hits / len(question)


@dataclass
class Knowledge:
    """The profile's FAQ and services as an index; built once per profile version."""

    profile: BusinessProfile
    entries: list[Entry] = field(default_factory=list)
    _bm25: BM25Okapi | None = None
    _distinctive: list[frozenset[str]] = field(default_factory=list)

    @classmethod
    def build(cls, profile: BusinessProfile) -> Knowledge:
        documents: list[tuple[Literal["faq", "service"], int, list[str]]] = []
        for i, faq in enumerate(profile.faq):
            # The answer too: it names what the question only hints at ("Sanitas").
            words = " ".join((*faq.q.all_texts(), *faq.a.all_texts()))
            documents.append(("faq", i, terms(words)))
        for i, service in enumerate(profile.services):
            words = " ".join(service.name.all_texts())
            if service.description:
                words += " " + " ".join(service.description.all_texts())
            documents.append(("service", i, terms(words)))
        knowledge = cls(profile, [Entry(k, i, frozenset(t)) for k, i, t in documents])
        knowledge._distinctive = cls._distinctive_names(profile)
        if documents:
            knowledge._bm25 = BM25Okapi([t or ["∅"] for _, _, t in documents])
        return knowledge

    def search(self, text: str, kind: str | None = None) -> Found | None:
        """The best entry (of ``kind``) for the text, with its confidence; None if nothing."""
        words = content_words(text)
        if not words or self._bm25 is None:
            return None
        scores = self._bm25.get_scores(terms(text))
        ranked = sorted(
            (
                (float(scores[n]), _coverage(words, entry), entry)
                for n, entry in enumerate(self.entries)
                if kind is None or entry.kind == kind
            ),
            key=lambda item: (item[1], item[0]),
            reverse=True,
        )
        if not ranked or ranked[0][1] == 0:
            return None
        _, coverage, entry = ranked[0]
        return Found(entry, coverage)

    def faq(self, found: Found) -> FaqEntry:
        return self.profile.faq[found.entry.index]

    def service(self, found: Found) -> ServiceOffered:
        return self.profile.services[found.entry.index]

    def services_named(self, text: str) -> list[ServiceOffered]:
        """Services the text names by a word no other service's name has ("limpieza")."""
        said = {s for w in content_words(text) for s in _stems(w)}
        return [
            service
            for service, distinctive in zip(self.profile.services, self._distinctive, strict=True)
            if distinctive & said
        ]

    @staticmethod
    def _distinctive_names(profile: BusinessProfile) -> list[frozenset[str]]:
        names = [
            {s for name in service.name.all_texts() for s in terms(name)}
            for service in profile.services
        ]
        return [
            frozenset(stems - set().union(*(o for j, o in enumerate(names) if j != i)))
            for i, stems in enumerate(names)
        ]


@dataclass(frozen=True)
class Asked:
    """What one burst of messages asks of the profile."""

    hours: bool = False
    address: bool = False
    prices: tuple[ServiceOffered, ...] = ()
    price_list: bool = False
    service_list: bool = False
    services: tuple[ServiceOffered, ...] = ()
    faq: FaqEntry | None = None
    question: bool = False

    @property
    def anything(self) -> bool:
        return bool(
            self.hours
            or self.address
            or self.prices
            or self.price_list
            or self.service_list
            or self.services
            or self.faq
        )


def asked(knowledge: Knowledge, text: str) -> Asked:
    folded = fold(text)
    hours = bool(_HOURS.search(folded))
    address = bool(_ADDRESS.search(folded))
    price = bool(_PRICE.search(folded))
    service_list = bool(_SERVICE_LIST.search(folded))
    named = knowledge.services_named(text)
    faq = None
    if not (hours or address or price or service_list):
        found = knowledge.search(text)
        if found is not None and found.confidence >= CONFIDENCE:
            if found.entry.kind == "faq":
                faq = knowledge.faq(found)
            elif not named:
                named = [knowledge.service(found)]
    return Asked(
        hours=hours,
        address=address,
        prices=tuple(named) if price else (),
        price_list=price and not named,
        service_list=service_list,
        services=() if price else tuple(named),
        faq=faq,
        question=is_question(text),
    )
