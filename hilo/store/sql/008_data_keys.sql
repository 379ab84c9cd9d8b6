-- Per-contact data keys (hilo/privacy/keyring.py): crypto-shredding.
--
-- A key seals a contact's personal fields (scope 'contact') or one day of their transcripts
-- (scope 'transcript:YYYY-MM-DD'). It is stored wrapped (AES-GCM under a key derived from
-- HILO_MASTER_KEY), never in clear. Destroying a key deletes its row and leaves a tombstone
-- holding no key material: a sealed field whose key is a tombstone is forgotten, one whose
-- key was never here is refused as broken. A contact who writes again gets new keys.

CREATE TABLE IF NOT EXISTS hilo_data_keys (
    key_id      uuid        PRIMARY KEY,
    pseudonym   text        NOT NULL,
    scope       text        NOT NULL,
    wrapped     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pseudonym, scope)
);

CREATE TABLE IF NOT EXISTS hilo_destroyed_keys (
    key_id        uuid        PRIMARY KEY,
    pseudonym     text        NOT NULL,
    scope         text        NOT NULL,
    destroyed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS hilo_destroyed_keys_pseudonym ON hilo_destroyed_keys (pseudonym);
