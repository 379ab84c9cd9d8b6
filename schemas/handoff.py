"""A conversation needs a person: the automatic answers could not help, and said so."""

from __future__ import annotations

import uuid
from typing import Literal

from schemas.envelope import Event


class PersonNeeded(Event):
    """The analyzer could not answer from the business's facts and will not guess.

    The contact was told (once) that a person will answer; ``task_id`` is the task
    (``task.created``, type ``support`` or ``follow_up``) the operator sees for it.
    The router may take it as a reason to hand the conversation over; the analyzer
    keeps answering what it does know meanwhile.
    """

    type: Literal["conversation.person_needed"] = "conversation.person_needed"
    schema_version: int = 1
    # unanswered_question: no fact matched well enough; model_asked: the LLM said so.
    reason: Literal["unanswered_question", "model_asked"]
    task_id: uuid.UUID
    message_event_ids: tuple[uuid.UUID, ...] = ()
