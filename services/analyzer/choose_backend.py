"""The backend named by `HILO_ANALYZER`: `rules` (offline, default) or `openai`."""

from __future__ import annotations

from services.analyzer.backends import Backend, BackendUnavailable, RulesBackend
from services.analyzer.settings import AnalyzerSettings


def make_backend(settings: AnalyzerSettings) -> Backend:
    name = settings.backend_name
    if name == "rules":
        return RulesBackend()
    if name == "openai":
        # Imported here: the openai client is only loaded by those who chose it.
        from services.analyzer.openai_backend import OpenAIBackend

        return OpenAIBackend(settings, RulesBackend())
    raise BackendUnavailable(f"HILO_ANALYZER={settings.hilo_analyzer!r}: use `rules` or `openai`")
