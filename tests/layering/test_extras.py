"""`pip install 'hilo[notifier]'` installs the notifier and no speech stack (CONTRACT.md Part 2).

A fresh virtual environment, this checkout installed with one service's extra, then the
service's app imported there. It takes about 40 s on a 2-core machine (a venv, the wheels
from pip's cache, a build of this project).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("faster_whisper", "av", "ctranslate2", "openai")
CHECK = f"""
import importlib.util, json
import services.notifier.app
heavy = [m for m in {HEAVY!r} if importlib.util.find_spec(m)]
print(json.dumps({{"heavy": heavy, "service": services.notifier.app.service.name}}))
"""


@pytest.mark.timeout(900)
def test_the_notifier_extra_brings_no_speech_model_or_pyav(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("hilo", "schemas", "services"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"{source}[notifier]"],
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    checked = subprocess.run(
        [str(python), "-c", CHECK], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
    found = json.loads(checked.stdout.strip().splitlines()[-1])
    assert found == {"heavy": [], "service": "notifier"}


def test_every_registered_service_has_its_extra_and_all_has_every_one() -> None:
    import tomllib

    from hilo import registry

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    [everything] = extras["all"]
    for info in registry.services():
        assert info.extra in extras, info.name
        assert info.extra in everything, info.name
    assert "hilo[all]" in extras["dev"]
    assert not any("whisper" in d or d.startswith("av") for d in extras["notifier"])
