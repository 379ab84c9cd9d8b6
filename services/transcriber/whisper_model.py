"""faster-whisper with the language detected from the encoding the transcription reuses.

Whisper reads audio in 30-second windows, padded: a 4-second note costs a full
window's encoding. faster-whisper's own detection encodes the first window, and the
transcription then encodes it again. Here the detection encodes exactly the window
the transcription starts with, and the model keeps that one encoder output: when the
transcription asks for the same window, it gets it back instead of a second pass.
For a short voice note that is close to half the work. A window that differs (a
later window of a long note) is encoded as usual, so the cache can only save work,
never change a result.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim

Samples = npt.NDArray[np.float32]


class ReusingWhisperModel(WhisperModel):  # type: ignore[misc]
    """Keeps the last encoder output, keyed by the exact features it was made from.

    Not thread-safe, as the caller uses it: one inference at a time (backends.py).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last: tuple[bytes, Any] | None = None

    def encode(self, features: np.ndarray[Any, Any]) -> Any:
        key = hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16).digest()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        output = super().encode(features)
        self._last = (key, output)
        return output

    def language_probabilities(self, samples: Samples) -> list[tuple[str, float]]:
        """(language code, probability) for the window a transcription of ``samples``
        starts with: the same frames, so its encoding is reused (transcribe() drops the
        feature extractor's last frame, and so does this)."""
        features = self.feature_extractor(samples)
        frames = max(1, min(self.feature_extractor.nb_max_frames, features.shape[-1] - 1))
        encoded = self.encode(pad_or_trim(features[:, :frames]))
        [results] = self.model.detect_language(encoded)
        return [(str(token)[2:-2], float(probability)) for token, probability in results]
