"""The traffic of a chaos run, sent as the providers and an operator send it.

Every contact follows a script drawn from a seeded random generator: a first text, then
texts, voice notes, finished calls, a flow (its keyword, then an answer to each question
once the question arrived, as a person answers) and operator replies. Meanwhile the
delivery statuses of what the Twilio stand-in received go back to ingest, as Twilio's
status callbacks do. Webhooks are signed with the providers' algorithms and retried while
the answer is not 2xx or does not come (Twilio waits 15 s), as a provider retries; what
was finally acknowledged goes into the :class:`Ledger`, which the verdict checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from chaos.providers import ELEVENLABS_SECRET, FLOW_KEYWORD, Providers
from chaos.stack import Stack
from hilo.cli.simulate import build_form
from hilo.cli.simulate_call import post_call_body
from hilo.testing import eventually
from services.ingest.files import store_media
from services.ingest.signatures import elevenlabs_signature, twilio_signature
from services.transcriber.decoding import SAMPLE_RATE, encode
from tests.notifier.standins import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_FROM

# Ingest serves media from folders named like a contact's pseudonym; every contact of the
# load sends this one note (the transcriber keeps its own copy per contact).
NOTE_FOLDER = "c" + "chaosnote" + "0" * 17

WHATSAPP = "/webhooks/twilio/whatsapp"
STATUS = "/webhooks/twilio/status"
ELEVENLABS = "/webhooks/elevenlabs"
# Twilio gives a webhook 15 s; a provider keeps retrying for a long while (Meta: 7 days).
REQUEST_TIMEOUT = 15.0
GIVE_UP_SECONDS = 300.0
# How long a person waits for a flow's question before writing anyway.
QUESTION_WAIT_SECONDS = 90.0
# Relative frequency of each kind of step after a contact's first text; a flow is three
# messages (keyword, two answers).
STEPS = {"text": 50, "voice": 12, "call": 8, "flow": 10, "operator": 12}
FLOW_MESSAGES = 3
# Status callbacks posted at once.
STATUS_BATCH = 20
TEXTS = (
    "Hola, ¿tenéis cita el viernes a las 10?",
    "¿Cuál es vuestro horario?",
    "¿Cuánto cuesta una limpieza dental?",
    "Gracias, hasta luego",
    "Hi, do you have parking?",
    "Can I book an appointment for Monday at 5pm?",
    "Necesito cambiar mi cita del martes",
    "¿Dónde estáis?",
)
OPERATOR_TEXT = "Hola, soy Marta, del equipo. Te confirmo que lo hemos visto."
CALL_SUMMARY = "La persona pidió cita para una revisión la semana que viene"


def plan(messages: int, contacts: int, seed: int) -> dict[str, list[str]]:
    """Each contact's steps: as many messages in all as asked (a flow counts three)."""
    rng = random.Random(seed)
    numbers = [f"+34622{i:06d}" for i in range(max(1, min(contacts, messages)))]
    scripts = {number: ["text"] for number in numbers}
    total = len(numbers)
    kinds, weights = list(STEPS), list(STEPS.values())
    while total < messages:
        kind = rng.choices(kinds, weights)[0]
        if kind == "flow" and messages - total < FLOW_MESSAGES:
            kind = "text"
        scripts[rng.choice(numbers)].append(kind)
        total += FLOW_MESSAGES if kind == "flow" else 1
    return scripts


def planned_messages(scripts: dict[str, list[str]]) -> int:
    return sum(FLOW_MESSAGES if k == "flow" else 1 for steps in scripts.values() for k in steps)


@dataclass
class Ledger:
    """What the stack acknowledged (2xx / 202), and what it never did."""

    # Twilio MessageSid → what it was (text, voice, flow).
    messages: dict[str, str] = field(default_factory=dict)
    # (MessageSid of the reply, status) of the status callbacks acknowledged.
    statuses: set[tuple[str, str]] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    operator_replies: set[uuid.UUID] = field(default_factory=set)
    # Refused for good: never acknowledged in GIVE_UP_SECONDS (by kind), or a 409 (operator).
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    def acknowledged(self) -> Counter[str]:
        counts = Counter(self.messages.values())
        counts.update(call=len(self.calls), operator=len(self.operator_replies))
        return counts


class Pacer:
    """Interleaves the load with the kills: the k-th kill comes after k/(K+1) of the messages
    were started, and the load does not run ahead of a kill not yet started."""

    def __init__(self, messages: int, kills: int) -> None:
        self.messages, self.kills = messages, kills
        self.started = 0
        self.kills_started = 0
        self._changed = asyncio.Condition()

    def _threshold(self, kill: int) -> float:
        return (kill + 1) * self.messages / (self.kills + 1)

    async def admit(self) -> None:
        async with self._changed:
            await self._changed.wait_for(
                lambda: (
                    self.kills_started >= self.kills
                    or self.started < self._threshold(self.kills_started)
                )
            )
            self.started += 1
            self._changed.notify_all()

    async def before_kill(self, kill: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.started >= self._threshold(kill))
            self.kills_started = kill + 1
            self._changed.notify_all()


@dataclass
class Load:
    stack: Stack
    providers: Providers
    scripts: dict[str, list[str]]
    operator_token: str
    pacer: Pacer
    seed: int
    ledger: Ledger = field(default_factory=Ledger)
    # What each contact is doing now (progress lines, and a stalled run's diagnosis).
    doing: dict[str, str] = field(default_factory=dict)
    _note: str = ""
    _per_contact: Counter[str] = field(default_factory=Counter)
    _counted: int = 0
    # Statuses posted and not answered yet: not acknowledged, and not to be posted twice.
    _claimed: set[tuple[str, str]] = field(default_factory=set)
    _load_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        self._note = self._voice_note()
        # Contacts and statuses each with their own connections: thousands of statuses queued
        # at once (ingest was down a while) must not stand in front of the contacts' messages.
        contacts = httpx.Limits(max_connections=len(self.scripts) + 10)
        async with (
            httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=contacts) as http,
            httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as status_http,
        ):
            statuses = asyncio.create_task(self._statuses(status_http))
            try:
                await asyncio.gather(
                    *(
                        self._converse(http, contact, steps, random.Random(f"{self.seed}{contact}"))
                        for contact, steps in self.scripts.items()
                    )
                )
                # The statuses being posted are answered first: a post cut off is no
                # acknowledgement, and the ledger holds only what ingest acknowledged.
                self._load_done.set()
                await statuses
                await self._report_statuses(status_http)  # the replies' still unreported
            finally:
                statuses.cancel()

    # --- one contact ---------------------------------------------------------------------

    async def _converse(
        self, http: httpx.AsyncClient, contact: str, steps: list[str], rng: random.Random
    ) -> None:
        for n, kind in enumerate(steps):
            self.doing[contact] = f"step {n + 1}/{len(steps)} {kind}"
            if kind == "flow":
                await self._flow(http, contact)
                continue
            await self.pacer.admit()
            if kind == "text":
                await self._text(http, contact, rng.choice(TEXTS), "text")
            elif kind == "voice":
                await self._text(http, contact, None, "voice")
            elif kind == "call":
                await self._call(http, contact)
            else:
                await self._operator(http, contact)
        self.doing[contact] = "done"

    async def _flow(self, http: httpx.AsyncClient, contact: str) -> None:
        for text in (FLOW_KEYWORD, "Ana", "2"):
            await self.pacer.admit()
            before = self._received(contact)
            await self._text(http, contact, text, "flow")

            async def asked(before: int = before) -> bool:
                return self._received(contact) > before

            # A person waits for the question; then, without one, writes anyway.
            with contextlib.suppress(AssertionError):
                await eventually(asked, timeout=QUESTION_WAIT_SECONDS, interval=0.1)

    def _received(self, contact: str) -> int:
        """How many messages the contact got so far (counted as the stand-in's list grows)."""
        created = self.providers.twilio.twilio_messages
        for message in created[self._counted :]:
            self._per_contact[message["to"]] += 1
        self._counted = len(created)
        return self._per_contact[f"whatsapp:{contact}"]

    # --- the requests --------------------------------------------------------------------

    async def _text(
        self, http: httpx.AsyncClient, contact: str, text: str | None, kind: str
    ) -> None:
        note_url = f"{self.stack.base_url}/media/{NOTE_FOLDER}/{self._note}"
        media = (note_url, "audio/ogg") if text is None else None
        form = build_form(
            contact,
            text,
            business=WHATSAPP_FROM,
            account_sid=ACCOUNT_SID,
            profile_name="Caos",
            media=media,
        )
        url = self.stack.base_url + WHATSAPP
        headers = {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, form)}
        if await self._deliver(kind, lambda: http.post(url, data=form, headers=headers)):
            self.ledger.messages[form["MessageSid"]] = kind

    async def _call(self, http: httpx.AsyncClient, contact: str) -> None:
        now = int(time.time())
        call_id = "conv_chaos_" + uuid.uuid4().hex[:20]
        body = json.dumps(post_call_body(contact, CALL_SUMMARY, call_id=call_id, now=now))
        headers = {
            "ElevenLabs-Signature": elevenlabs_signature(ELEVENLABS_SECRET, body.encode(), now),
            "Content-Type": "application/json",
        }
        url = self.stack.base_url + ELEVENLABS
        if await self._deliver("call", lambda: http.post(url, content=body, headers=headers)):
            self.ledger.calls.add(call_id)

    async def _operator(self, http: httpx.AsyncClient, contact: str) -> None:
        # The same key on every retry: a retried request answers the same reply.
        headers = {
            "Authorization": f"Bearer {self.operator_token}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        url = f"{self.stack.inbox_url}/api/conversations/{contact}/messages"
        answer = await self._deliver(
            "operator",
            lambda: http.post(url, json={"text": OPERATOR_TEXT}, headers=headers),
            final=(409,),
        )
        if answer is not None and answer.status_code == 202:
            self.ledger.operator_replies.add(uuid.UUID(answer.json()["reply_id"]))
        elif answer is not None:
            self.ledger.refused["operator (409: WhatsApp's rules)"] += 1

    async def _deliver(
        self,
        kind: str,
        post: Callable[[], Awaitable[httpx.Response]],
        final: tuple[int, ...] = (),
    ) -> httpx.Response | None:
        """Post until a 2xx (or a final answer); None if it never came."""
        deadline = time.monotonic() + GIVE_UP_SECONDS
        pause = 0.25
        while True:
            try:
                answer = await post()
            except httpx.HTTPError:
                pass
            else:
                if answer.is_success or answer.status_code in final:
                    return answer
            if time.monotonic() > deadline:
                self.ledger.refused[kind] += 1
                return None
            self.ledger.retries += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    # --- statuses of what the contacts received -------------------------------------------

    async def _statuses(self, http: httpx.AsyncClient) -> None:
        while not self._load_done.is_set():
            await self._report_statuses(http)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._load_done.wait(), timeout=0.2)

    async def _report_statuses(self, http: httpx.AsyncClient) -> None:
        reported = {sid for sid, _ in self.ledger.statuses | self._claimed}
        fresh = [m for m in list(self.providers.twilio.twilio_messages) if m["sid"] not in reported]
        # A few at a time, as a provider's callbacks come: a crowd of queued requests makes
        # httpx's pool slow (it rescans every waiting request) and starves the contacts.
        for start in range(0, len(fresh), STATUS_BATCH):
            batch = fresh[start : start + STATUS_BATCH]
            await asyncio.gather(*(self._status(http, m, "delivered") for m in batch))

    async def _status(self, http: httpx.AsyncClient, message: dict[str, Any], status: str) -> None:
        form = {
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "AccountSid": ACCOUNT_SID,
            "From": message["from"],
            "To": message["to"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": "2010-04-01",
        }
        url = self.stack.base_url + STATUS
        headers = {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, form)}
        key = (message["sid"], status)
        self._claimed.add(key)
        try:
            if await self._deliver("status", lambda: http.post(url, data=form, headers=headers)):
                self.ledger.statuses.add(key)
        finally:
            self._claimed.discard(key)

    def _voice_note(self) -> str:
        """One second of a tone as WhatsApp's Ogg/Opus, served by ingest's /media/ (the
        words come from the transcription stand-in)."""
        t = np.arange(SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
        data = encode((0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32))
        return store_media(self.stack.data_dir, NOTE_FOLDER, data, "audio/ogg").sha256
