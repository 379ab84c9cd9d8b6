"""`make chaos`: mixed traffic through `hilo up` while kill -9 hits every part in turn.

- ``providers.py``: the providers' stand-ins the stack talks to (Twilio's Messages API,
  OpenAI's transcription, ElevenLabs' agent socket, a flow's outside API) and the
  environment that points `hilo up` at them.
- ``stack.py``: `hilo up` as a child process, its services, servers and database sessions,
  and the kills (a service, a PostgreSQL backend, PostgreSQL itself, NATS) with the wait
  for recovery after each.
- ``load.py``: the traffic, as the providers and an operator send it (signed, retried on a
  non-2xx or a timeout), and the ledger of what was acknowledged.
- ``verdict.py``: what the store and the stand-ins say afterwards, as figures and problems.
- ``run.py``: the command (`make chaos`, ``CHAOS_MESSAGES``) and :func:`chaos.run.run`,
  which ``tests/system/test_chaos.py`` runs at a small size.
"""
