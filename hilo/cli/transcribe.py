"""`hilo transcribe FILE...`: voice notes on disk through the configured transcriber.

One JSON line a file on stdout; progress on stderr; a file that cannot be read
or decoded is reported on stderr and the others are still transcribed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hilo.errors import UserError


def transcribe_files(files: list[Path]) -> None:
    """Raises UserError when any file failed (after all were tried)."""
    from services.transcriber.backends import create_backend
    from services.transcriber.settings import TranscriberSettings

    config = TranscriberSettings()
    backend = create_backend(config)
    errors = Console(stderr=True)
    failed = 0
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=len(files) < 2,
    )
    with progress:
        task = progress.add_task("transcribing", total=len(files))
        for path in files:
            progress.update(task, description=f"transcribing {path.name}")
            try:
                line = _one(path, backend, config.transcriber_max_duration_seconds)
            except _FileProblem as problem:
                failed += 1
                progress.console.print(
                    f"hilo: {path}: {problem}", style="red", highlight=False, soft_wrap=True
                )
            else:
                print(json.dumps(line, ensure_ascii=False), flush=True)
            progress.advance(task)
    if failed:
        raise UserError(f"{failed} of {len(files)} file(s) could not be transcribed")


class _FileProblem(Exception):
    pass


def _one(path: Path, backend: Any, max_duration_seconds: float) -> dict[str, Any]:
    from services.transcriber.decoding import decode, is_silent
    from services.transcriber.failures import TranscriptionError

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _FileProblem("no such file") from None
    except OSError as exc:
        raise _FileProblem(exc.strerror or "cannot be read") from None
    try:
        audio = decode(data, max_duration_seconds=max_duration_seconds)
        if is_silent(audio.samples):
            transcript = None
        else:
            transcript = asyncio.run(backend.transcribe(audio, data, _content_type(path)))
    except TranscriptionError as exc:
        raise _FileProblem(f"{exc.reason.replace('_', ' ')} ({exc.detail})") from None
    return {
        "file": str(path),
        "text": transcript.text if transcript else "",
        "language": transcript.language if transcript else None,
        "duration": round(audio.duration_seconds, 3),
        "backend": backend.name,
        "model": backend.model,
        "segments": [s.model_dump() for s in transcript.segments] if transcript else [],
    }


def _content_type(path: Path) -> str | None:
    return {
        ".ogg": "audio/ogg",
        ".oga": "audio/ogg",
        ".opus": "audio/ogg",
        ".mp3": "audio/mpeg",
        ".m4a": "audio/mp4",
        ".mp4": "video/mp4",
        ".wav": "audio/wav",
        ".webm": "audio/webm",
        ".flac": "audio/flac",
    }.get(path.suffix.lower())


if __name__ == "__main__":  # pragma: no cover
    transcribe_files([Path(a) for a in sys.argv[1:]])
