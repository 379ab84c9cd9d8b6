"""Answers from the business profile: how fast, how right, and what they add to a reply.

1. Offline questions answered per second (``answers.compose_answer``: the fact lookup and
   the reply text) over a labeled set of Spanish and English questions about the example
   profile (``business.yaml``), and the share answered with the right fact.
2. The retrieval measured against two peers on the same questions: BM25 over plain folded
   words (no stemming), and `rapidfuzz`'s ``token_set_ratio`` against the FAQ questions and
   service names (a fuzzy matcher often used for FAQ bots), each with its best threshold.
3. The added p50 on the message → reply path: the analyzer in-process on real NATS and
   PostgreSQL, the same questions with the profile and without it (generic answers), the
   two runs taking turns.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import close_bus, connect_bus, percentile, print_table, servers, service_settings
from nats.aio.msg import Msg
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz

from hilo.business import load_profile
from hilo.service import Service
from hilo.settings import HiloSettings
from hilo.text import fold
from schemas import MessageReceived, ReplyReady, utc_now
from services.analyzer.answers import Situation, compose_answer
from services.analyzer.app import build
from services.analyzer.knowledge import CONFIDENCE, Knowledge, asked, content_words
from services.analyzer.models import Analysis
from services.analyzer.replies import ReplyFacts
from services.analyzer.settings import AnalyzerSettings

ROOT = Path(__file__).resolve().parents[1]
PROFILE = load_profile(ROOT / "business.yaml").profile
KNOWLEDGE = Knowledge.build(PROFILE)
ROUNDS = 7
CONVERSATIONS = int(os.environ.get("BENCH_ANSWERS_CONVERSATIONS", "10"))

# (question, expected): "faq:<n>", "service:<n>" (price or offer), "hours", "address", "none".
LABELED: tuple[tuple[str, str], ...] = (
    ("¿Tenéis aparcamiento?", "faq:0"),
    ("¿Hay parking cerca?", "faq:0"),
    ("Do you have parking?", "faq:0"),
    ("Is there somewhere to park?", "faq:0"),
    ("¿Se puede pagar con tarjeta?", "faq:1"),
    ("¿Aceptáis Bizum?", "faq:1"),
    ("Can I pay by card?", "faq:1"),
    ("¿Qué formas de pago tenéis?", "faq:1"),
    ("¿Trabajáis con Sanitas?", "faq:2"),
    ("¿Aceptáis seguros dentales?", "faq:2"),
    ("Do you take dental insurance?", "faq:2"),
    ("¿Atendéis urgencias?", "faq:3"),
    ("Tengo una urgencia, ¿me podéis ver hoy?", "faq:3"),
    ("Do you handle emergencies?", "faq:3"),
    ("¿Atendéis a niños?", "faq:4"),
    ("Do you treat children?", "faq:4"),
    ("¿Cuánto cuesta una limpieza?", "service:0"),
    ("Precio de la limpieza dental", "service:0"),
    ("How much is a dental cleaning?", "service:0"),
    ("¿Cuánto vale un empaste?", "service:2"),
    ("How much does a filling cost?", "service:2"),
    ("¿Precio del blanqueamiento?", "service:3"),
    ("How much is teeth whitening?", "service:3"),
    ("¿Hacéis extracciones?", "service:4"),
    ("¿Cuánto cuesta sacar una muela? Una extracción", "service:4"),
    ("¿Hacéis blanqueamientos?", "service:3"),
    ("¿A qué hora abrís el sábado?", "hours"),
    ("¿Qué horario tenéis?", "hours"),
    ("¿Abrís mañana?", "hours"),
    ("What are your opening hours?", "hours"),
    ("Are you open on Sunday?", "hours"),
    ("¿Dónde estáis?", "address"),
    ("¿Cuál es la dirección?", "address"),
    ("What's your address?", "address"),
    ("¿Hacéis implantes?", "none"),
    ("¿Aceptáis perros en la consulta?", "none"),
    ("¿Tenéis ortodoncia invisible?", "none"),
    ("Do you sell toothbrushes?", "none"),
    ("¿Puedo llevar a mi madre conmigo?", "none"),
    ("¿Vendéis cepillos eléctricos?", "none"),
)

ANALYSIS = Analysis.model_validate(
    {"language": "es", "summary": "s", "sentiment": "neutral", "intent": "info"}
)


def _ours(knowledge: Knowledge, question: str) -> str:
    found = asked(knowledge, question)
    if found.faq is not None:
        return f"faq:{PROFILE.faq.index(found.faq)}"
    picked = found.prices or found.services
    if picked:
        return f"service:{PROFILE.services.index(picked[0])}"
    if found.hours:
        return "hours"
    if found.address:
        return "address"
    return "none"


def _entries() -> list[tuple[str, str]]:
    """(label, text) of every FAQ question and service name, both languages."""
    entries = [(f"faq:{i}", t) for i, f in enumerate(PROFILE.faq) for t in f.q.all_texts()]
    entries += [
        (f"service:{i}", t) for i, s in enumerate(PROFILE.services) for t in s.name.all_texts()
    ]
    return entries


def _structured(question: str) -> str | None:
    """The peers get the same hours/address detection: only retrieval is compared."""
    found = asked(KNOWLEDGE, question)
    if found.hours:
        return "hours"
    if found.address:
        return "address"
    return None


def _fuzzy(threshold: float) -> Callable[[str], str]:
    entries = _entries()

    def answer(question: str) -> str:
        if (fixed := _structured(question)) is not None:
            return fixed
        label, score = max(
            ((lab, fuzz.token_set_ratio(fold(question), fold(text))) for lab, text in entries),
            key=lambda item: item[1],
        )
        return label if score >= threshold else "none"

    return answer


def _plain_bm25(threshold: float) -> Callable[[str], str]:
    entries = _entries()
    documents = [content_words(text) or ["∅"] for _, text in entries]
    index = BM25Okapi(documents)

    def answer(question: str) -> str:
        if (fixed := _structured(question)) is not None:
            return fixed
        words = content_words(question)
        if not words:
            return "none"
        scores = index.get_scores(words)
        best = max(range(len(entries)), key=lambda n: scores[n])
        covered = sum(1 for w in words if w in documents[best]) / len(words)
        return entries[best][0] if covered >= threshold else "none"

    return answer


def accuracy(answer: Callable[[str], str]) -> float:
    return sum(answer(q) == expected for q, expected in LABELED) / len(LABELED)


def offline_rate() -> tuple[float, float]:
    knowledge = Knowledge.build(PROFILE)
    now = utc_now()
    situations = [
        Situation(ReplyFacts(ANALYSIS, "es"), (q,), now, "Hola", PROFILE, knowledge)
        for q, _ in LABELED
    ]
    rates, lookups = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for situation in situations:
            compose_answer(situation)
        rates.append(len(situations) / (time.perf_counter() - started))
        for question, _ in LABELED:
            begun = time.perf_counter()
            asked(knowledge, question)
            lookups.append(time.perf_counter() - begun)
    return statistics.median(rates), statistics.median(lookups) * 1e6


async def reply_latencies(settings: HiloSettings, profile: str) -> list[float]:
    bus = await connect_bus(settings)
    await bus.ensure_streams()
    answered: dict[uuid.UUID, asyncio.Future[float]] = {}

    async def on_reply(msg: Msg) -> None:
        reply = await bus.decode(msg.data)
        assert isinstance(reply, ReplyReady)
        for message_id in reply.in_reply_to:
            waiter = answered.get(message_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())

    await bus.nc.subscribe(bus.naming.type_filter("reply.ready"), cb=on_reply)
    service = build_analyzer(profile)
    latencies: list[float] = []
    questions = [q for q, _ in LABELED[::5]]

    async def talk(i: int) -> None:
        contact = f"+3460{i:03d}{uuid.uuid4().int % 10**4:04d}"
        for text in questions:
            message = MessageReceived(
                conversation=contact,
                provider="twilio",
                provider_message_id=f"SM{uuid.uuid4().hex}",
                text=text,
            )
            answered[message.event_id] = asyncio.get_running_loop().create_future()
            sent = time.perf_counter()
            await bus.publish(message)
            received = await asyncio.wait_for(answered[message.event_id], 60)
            latencies.append(received - sent)

    async with service.running(settings, http=False):
        await asyncio.gather(*(talk(i) for i in range(CONVERSATIONS)))
    await close_bus(bus)
    return latencies


def build_analyzer(profile: str) -> Service:
    return build(
        AnalyzerSettings(
            _env_file=None,
            hilo_analyzer="rules",
            analyzer_burst_seconds=0,
            analyzer_reply_max_age_hours=0,
            hilo_business_file=profile,
        )
    )


async def main() -> None:
    per_second, lookup_us = offline_rate()
    ours = accuracy(lambda q: _ours(KNOWLEDGE, q))
    fuzzy = max((accuracy(_fuzzy(t)), t) for t in (50, 60, 70, 80, 90))
    plain = max((accuracy(_plain_bm25(t)), t) for t in (0.4, 0.5, 0.6, 0.75, 1.0))
    print_table(
        f"Business answers offline: {len(LABELED)} labeled questions (es, en) on business.yaml",
        [("questions answered per second", per_second, None)],
        "questions/s",
    )
    print(f"  fact lookup alone (asked): median {lookup_us:.0f} µs per question")
    print(
        f"  right fact (or rightly none), BM25 + Snowball stems, threshold {CONFIDENCE}: {ours:.0%}"
    )
    print(f"  peer: BM25 on plain words, best threshold {plain[1]}: {plain[0]:.0%}")
    print(f"  peer: rapidfuzz token_set_ratio, best threshold {fuzzy[1]}: {fuzzy[0]:.0%}")

    with servers() as infra:
        async with service_settings(infra, "answers") as settings_for:
            with_profile: list[float] = []
            without: list[float] = []
            for _ in range(2):  # taking turns keeps the machine's drift out of the ratio
                with_profile += await reply_latencies(
                    settings_for("bwp"), str(ROOT / "business.yaml")
                )
                without += await reply_latencies(settings_for("bnp"), "")
    p50_with, p50_without = percentile(with_profile, 0.5) * 1e3, percentile(without, 0.5) * 1e3
    print_table(
        f"Analyzer message → reply.ready, {CONVERSATIONS} conversations at once, questions"
        " (peer: the same analyzer without a profile)",
        [
            ("p50 with the profile vs without", p50_with, p50_without),
            (
                "p99 with the profile vs without",
                percentile(with_profile, 0.99) * 1e3,
                percentile(without, 0.99) * 1e3,
            ),
        ],
        "ms",
    )
    print(f"  added p50 of the business answers on the path: {p50_with - p50_without:+.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
