"""The calendar/task diff: new, moved, cancelled, repeated, forgotten."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from schemas import (
    CalendarEventCancelled,
    CalendarEventRescheduled,
    CalendarEventScheduled,
    TaskCreated,
    TaskUpdated,
)
from services.analyzer.diff import (
    Cause,
    StoredCalendarEvent,
    StoredTask,
    calendar_changes,
    calendar_event_id,
    task_changes,
    task_id,
)
from services.analyzer.models import AgreedEvent, FollowUpTask

BOGOTA = ZoneInfo("America/Bogota")
CONVERSATION = "+573001112233"
CAUSE = Cause(uuid.uuid4(), uuid.uuid4())


def agreed(start: datetime | date, **fields: object) -> AgreedEvent:
    values: dict[str, object] = {
        "key": "m1",
        "title": "Revisión del proyecto",
        "start": start,
        "timezone": "America/Bogota",
    }
    values.update(fields)
    return AgreedEvent.model_validate(values)


def stored_from(event: AgreedEvent, sequence: int = 0, **fields: object) -> StoredCalendarEvent:
    [change] = calendar_changes(CONVERSATION, {}, [event])
    values = {**change.after.__dict__, "sequence": sequence, **fields}
    return StoredCalendarEvent(**values)


def as_map(*events: StoredCalendarEvent) -> dict[uuid.UUID, StoredCalendarEvent]:
    return {e.calendar_event_id: e for e in events}


FRIDAY_10 = datetime(2026, 11, 20, 10, tzinfo=BOGOTA)
FRIDAY_11 = datetime(2026, 11, 20, 11, tzinfo=BOGOTA)


def test_a_new_standing_event_is_scheduled_with_an_id_from_the_conversation_and_key() -> None:
    [change] = calendar_changes(CONVERSATION, {}, [agreed(FRIDAY_10)], "573009998877")
    event = change.to_event(CAUSE)
    assert isinstance(event, CalendarEventScheduled)
    assert event.calendar_event_id == calendar_event_id(CONVERSATION, "m1")
    assert event.start == FRIDAY_10 and event.timezone == "America/Bogota"
    assert event.causation_id == CAUSE.event_id and event.correlation_id == CAUSE.correlation_id
    assert change.after.business_number == "573009998877"
    # The same change computed again is the same event (a replay publishes the same id).
    [again] = calendar_changes(CONVERSATION, {}, [agreed(FRIDAY_10)])
    assert again.to_event(CAUSE).event_id == event.event_id  # type: ignore[union-attr]


def test_the_same_event_agreed_again_changes_nothing() -> None:
    stored = stored_from(agreed(FRIDAY_10))
    same_instant_elsewhere = FRIDAY_10.astimezone(ZoneInfo("UTC"))
    assert calendar_changes(CONVERSATION, as_map(stored), [agreed(FRIDAY_10)]) == []
    assert calendar_changes(CONVERSATION, as_map(stored), [agreed(same_instant_elsewhere)]) == []


def test_a_moved_event_is_rescheduled_with_its_previous_start_and_a_new_sequence() -> None:
    stored = stored_from(agreed(FRIDAY_10))
    [change] = calendar_changes(CONVERSATION, as_map(stored), [agreed(FRIDAY_11)])
    event = change.to_event(CAUSE)
    assert isinstance(event, CalendarEventRescheduled)
    assert event.previous_start == FRIDAY_10 and event.start == FRIDAY_11
    assert change.after.sequence == 1
    assert event.calendar_event_id == stored.calendar_event_id


def test_a_time_that_becomes_a_day_only_is_a_change() -> None:
    stored = stored_from(agreed(FRIDAY_10))
    [change] = calendar_changes(CONVERSATION, as_map(stored), [agreed(date(2026, 11, 20))])
    assert change.kind == "rescheduled"


def test_a_cancelled_event_is_cancelled_once() -> None:
    stored = stored_from(agreed(FRIDAY_10))
    [change] = calendar_changes(
        CONVERSATION, as_map(stored), [agreed(FRIDAY_10, status="cancelled")]
    )
    assert isinstance(change.to_event(CAUSE), CalendarEventCancelled)
    after = change.after
    assert after.status == "cancelled" and after.sequence == 1
    assert (
        calendar_changes(CONVERSATION, as_map(after), [agreed(FRIDAY_10, status="cancelled")]) == []
    )


def test_an_event_cancelled_before_it_was_ever_scheduled_publishes_nothing() -> None:
    assert calendar_changes(CONVERSATION, {}, [agreed(FRIDAY_10, status="cancelled")]) == []


def test_a_cancelled_event_agreed_again_is_scheduled_again_under_a_new_event_id() -> None:
    first = stored_from(agreed(FRIDAY_10))
    cancelled = stored_from(agreed(FRIDAY_10), sequence=1, status="cancelled")
    [change] = calendar_changes(CONVERSATION, as_map(cancelled), [agreed(FRIDAY_11)])
    assert change.kind == "scheduled" and change.after.sequence == 2
    [original] = calendar_changes(CONVERSATION, {}, [agreed(FRIDAY_10)])
    assert change.to_event(CAUSE).event_id != original.to_event(CAUSE).event_id  # type: ignore[union-attr]
    assert first.calendar_event_id == change.after.calendar_event_id


def test_an_event_the_analysis_no_longer_mentions_is_left_alone() -> None:
    stored = stored_from(agreed(FRIDAY_10))
    assert calendar_changes(CONVERSATION, as_map(stored), []) == []


def test_a_new_title_alone_is_kept_for_the_feed_but_published_as_nothing() -> None:
    stored = stored_from(agreed(FRIDAY_10, title="Reunión"))
    [change] = calendar_changes(CONVERSATION, as_map(stored), [agreed(FRIDAY_10)])
    assert change.kind == "details" and change.to_event(CAUSE) is None
    assert change.after.title == "Revisión del proyecto" and change.after.sequence == 1


def test_a_naive_start_is_read_in_the_event_zone() -> None:
    [change] = calendar_changes(CONVERSATION, {}, [agreed(datetime(2026, 11, 20, 10))])
    assert change.after.start == FRIDAY_10


def followup(**fields: object) -> FollowUpTask:
    values: dict[str, object] = {
        "key": "m1",
        "title": "Reunión: Revisión del proyecto",
        "type": "meeting",
        "priority": 3,
        "due": date(2026, 11, 20),
    }
    values.update(fields)
    return FollowUpTask.model_validate(values)


def stored_task(task: FollowUpTask, **fields: object) -> StoredTask:
    values: dict[str, object] = {
        "task_id": task_id(CONVERSATION, task.key),
        "conversation": CONVERSATION,
        "key": task.key,
        "title": task.title,
        "task_type": task.type,
        "priority": task.priority,
        "due": task.due,
    }
    values.update(fields)
    return StoredTask(**values)  # type: ignore[arg-type]


def test_tasks_are_created_then_updated_only_when_they_change() -> None:
    task = followup()
    [created] = task_changes(CONVERSATION, {}, [task])
    event = created.to_event(CAUSE)
    assert isinstance(event, TaskCreated) and event.task_id == task_id(CONVERSATION, "m1")
    stored = {created.after.task_id: created.after}
    assert task_changes(CONVERSATION, stored, [task]) == []
    [updated] = task_changes(CONVERSATION, stored, [followup(due=date(2026, 11, 21))])
    moved = updated.to_event(CAUSE)
    assert isinstance(moved, TaskUpdated) and moved.due == date(2026, 11, 21)
    assert moved.event_id != event.event_id and updated.after.revision == 1


def test_the_task_of_a_cancelled_event_is_cancelled() -> None:
    task = followup()
    stored = stored_task(task)
    [change] = task_changes(CONVERSATION, {stored.task_id: stored}, [], cancelled_event_keys=["m1"])
    event = change.to_event(CAUSE)
    assert isinstance(event, TaskUpdated) and event.status == "cancelled"
    # A task merely not mentioned stays open.
    assert task_changes(CONVERSATION, {stored.task_id: stored}, []) == []
