"""One voice note from URL to words: fetch, keep, decode, check, transcribe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from schemas import MessageReceived
from services.transcriber.backends import Backend, Transcript
from services.transcriber.decoding import decode, is_silent
from services.transcriber.failures import TranscriptionError, permanent, transient
from services.transcriber.media import MediaFetcher
from services.transcriber.outcomes import voice_note_of
from services.transcriber.storage import AudioStore


@dataclass(frozen=True)
class Transcribed:
    transcript: Transcript
    sha256: str


@dataclass(frozen=True)
class Pipeline:
    fetcher: MediaFetcher
    store: AudioStore
    backend: Backend
    max_duration_seconds: float
    # The folder a contact's notes go to: their pseudonym (hilo/erasure.py).
    folder_of: Callable[[str], str]

    async def run(self, message: MessageReceived) -> Transcribed:
        """Raises TranscriptionError, and only that: anything unexpected counts as transient."""
        try:
            return await self._run(message)
        except TranscriptionError:
            raise
        except Exception as exc:
            raise transient("backend_failed", f"unexpected {type(exc).__name__}") from exc

    async def _run(self, message: MessageReceived) -> Transcribed:
        media = voice_note_of(message)
        if media is None:
            raise permanent("no_media", "the audio message carries no media")
        content_type = media.content_type
        # A replay finds the note already kept when the provider told us its digest.
        folder = self.folder_of(message.conversation)
        data = await self.store.aget(folder, media.sha256) if media.sha256 else None
        if data is None:
            downloaded = await self.fetcher.fetch(message.provider, media)
            data, content_type = downloaded.data, downloaded.content_type or content_type
        if not data:
            raise permanent("empty", "the provider sent an empty file")
        sha256 = await self.store.aput(folder, data)
        audio = await asyncio.to_thread(
            decode, data, max_duration_seconds=self.max_duration_seconds
        )
        if is_silent(audio.samples):
            raise permanent("no_speech", "the note is silent")
        transcript = await self.backend.transcribe(audio, data, content_type)
        if not transcript.text.strip():
            raise permanent("no_speech", "no words were recognised")
        return Transcribed(transcript, sha256)
