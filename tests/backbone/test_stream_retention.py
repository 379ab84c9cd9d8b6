"""JetStream keeps events a bounded time (HILO_STREAM_MAX_AGE_DAYS); the store, for good."""

from __future__ import annotations

from hilo.bus import DEFAULT_MAX_AGE_DAYS, EventBus

DAY = 86_400.0


async def _ages(bus: EventBus) -> tuple[float, float]:
    events = await bus.js.stream_info(bus.naming.events_stream)
    dead = await bus.js.stream_info(bus.naming.dead_letter_stream)
    return float(events.config.max_age or 0), float(dead.config.max_age or 0)


async def test_new_streams_get_the_default_bound(bus: EventBus) -> None:
    await bus.ensure_streams()
    assert await _ages(bus) == (DEFAULT_MAX_AGE_DAYS * DAY, DEFAULT_MAX_AGE_DAYS * DAY)


async def test_a_service_sets_the_configured_bound_and_a_cli_leaves_it(bus: EventBus) -> None:
    await bus.ensure_streams()
    await bus.ensure_streams(max_age_days=7)
    assert await _ages(bus) == (7 * DAY, 7 * DAY)
    # A CLI or tool that does not know the setting keeps what the services chose.
    await bus.ensure_streams()
    assert await _ages(bus) == (7 * DAY, 7 * DAY)


async def test_zero_means_kept_forever(bus: EventBus) -> None:
    await bus.ensure_streams(max_age_days=0)
    assert await _ages(bus) == (0.0, 0.0)
