"""The recorder: every event on the bus, appended to the PostgreSQL event store."""

from __future__ import annotations

from hilo.consumer import ConsumerSpec
from hilo.service import Service
from services.recorder.handlers import record_batches
from services.recorder.settings import RecorderSettings


def build() -> Service:
    settings = RecorderSettings()
    service = Service("recorder")
    # One batch in flight at most: after a crash JetStream must redeliver the unacked batch
    # before anything newer, or the store would take a conversation's events out of order.
    spec = ConsumerSpec(
        durable="recorder", batch=settings.batch_size, max_ack_pending=settings.batch_size
    )
    service.batch_subscriber(spec)(record_batches)
    return service


service = build()
