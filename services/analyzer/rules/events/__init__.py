"""Calendar events agreed across several messages (slot filling). Pure.

The messages are read in order (reader.py), each through explicit steps, one module
each: **open** (opening.py: a request starts an event), **fill** (filling.py: its day,
time, end and title), **confirm** (confirming.py: the business states the agreement),
**move** (moving.py) and **cancel** (cancelling.py). The words each step listens for are
tables and patterns in vocabulary.py; what the reader keeps between messages is in
state.py. The contact decides; the business's messages are context (a question, a
proposal the contact may accept) and agreement (a confirmation, a promise it will keep).
"""

from __future__ import annotations

from services.analyzer.rules.events.reader import find_events
from services.analyzer.rules.events.state import EventsFound

__all__ = ["EventsFound", "find_events"]
