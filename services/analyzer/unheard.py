"""A burst made only of voice notes that could not be heard: still answered (pure, no I/O).

Without words there is nothing to analyse, and the analysis is what used to decide
whether to answer, so the contact who only sent an unintelligible note heard nothing
back. Such a burst gets the analyzer's ordinary reply path with an empty analysis:
`replies.compose` then asks, once for the burst, to write it instead. The language
cannot come from words either: it is the one spoken in the contact's country (by
the number), else the configured default.
"""

from __future__ import annotations

import phonenumbers

from services.analyzer.models import Analysis
from services.analyzer.pipeline import Outcome
from services.analyzer.replies import SUPPORTED

# Countries whose numbers mostly belong to Spanish or English speakers.
SPANISH_REGIONS = frozenset(
    ("ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY", "SV",
     "NI", "CR", "PA", "UY", "PR", "GQ")
)  # fmt: skip
ENGLISH_REGIONS = frozenset(
    ("US", "GB", "IE", "AU", "NZ", "CA", "ZA", "JM", "TT", "BS", "BB", "GY", "BZ")
)


def language_of_number(contact: str, default: str) -> str:
    """``+34…`` → es, ``+44…`` → en; a country speaking neither → ``default``."""
    try:
        number = phonenumbers.parse(contact)
    except phonenumbers.NumberParseException:
        return default if default in SUPPORTED else "es"
    # A number outside the allocated ranges still names its country by the calling code.
    region = phonenumbers.region_code_for_number(
        number
    ) or phonenumbers.region_code_for_country_code(number.country_code or 0)
    if region in SPANISH_REGIONS:
        return "es"
    if region in ENGLISH_REGIONS:
        return "en"
    return default if default in SUPPORTED else "es"


def unheard_outcome(contact: str, default_language: str) -> Outcome:
    """What `Responder._answer` needs to ask the contact to write their note."""
    analysis = Analysis(
        language=language_of_number(contact, default_language),
        summary="",
        sentiment="neutral",
        intent="other",
        backend="none",
    )
    return Outcome(analysis=analysis, calendar=[], tasks=[], standing=[])
