-- Operator accounts, their sessions and API tokens, and sign-in attempts.
-- Secrets are never stored: passwords as Argon2 hashes, session ids and tokens as SHA-256
-- digests (they are long random strings, so a fast digest is enough).

CREATE TABLE IF NOT EXISTS inbox_operators (
    operator_id    uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE,          -- folded to lower case
    role           text NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

CREATE TABLE IF NOT EXISTS inbox_sessions (
    session_digest  bytea PRIMARY KEY,
    operator_id     uuid NOT NULL REFERENCES inbox_operators (operator_id) ON DELETE CASCADE,
    -- The CSRF token a cookie-authenticated mutation must echo in X-CSRF-Token.
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_sessions_expiry ON inbox_sessions (expires_at);

CREATE TABLE IF NOT EXISTS inbox_tokens (
    token_id      uuid PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('admin', 'agent')),
    token_digest  bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

-- Failed sign-ins, by e-mail and by client address; old rows are pruned on each attempt.
CREATE TABLE IF NOT EXISTS inbox_login_failures (
    key   text NOT NULL,                        -- "email:<e-mail>" or "ip:<address>"
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS inbox_login_failures_key ON inbox_login_failures (key, at);
