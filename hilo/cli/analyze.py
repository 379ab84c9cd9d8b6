"""`hilo analyze FILE`: the configured analyzer over a file of conversations.

The file is in the format of docs/ANALYSIS_DATA.md (one conversation a JSON line; a label
under `expected` is ignored). One output line per conversation, in input order, on
stdout; progress on stderr, so the output can be piped.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from hilo.errors import UserError
from services.analyzer.backends import BackendUnavailable
from services.analyzer.choose_backend import make_backend
from services.analyzer.output import BadConversationFile, output_record, read_conversations
from services.analyzer.settings import AnalyzerSettings


def _load(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it ({exc})") from None


async def _run(path: Path) -> None:
    lines = _load(path)
    try:
        conversations = [c for c, _ in read_conversations(lines, path.name)]
    except BadConversationFile as exc:
        raise UserError(str(exc)) from None
    try:
        backend = make_backend(AnalyzerSettings())
    except BackendUnavailable as exc:
        raise UserError(str(exc)) from None
    progress = Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    try:
        with progress:
            task = progress.add_task("analyse", total=len(conversations))
            for conversation in conversations:
                analysis = await backend.analyze(conversation)
                line = json.dumps(output_record(conversation, analysis), ensure_ascii=False)
                sys.stdout.write(line + "\n")
                progress.advance(task)
    finally:
        await backend.close()
    sys.stdout.flush()


def analyze_file(path: Path) -> None:
    asyncio.run(_run(path))
