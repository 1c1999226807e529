-- Generated from ../sqlite/0008_accounts.sql by type substitution (INTEGER -> BIGINT);
-- keep the two in step.
-- Registered donors. An account is one email with a password (an argon2id PHC string); it
-- sees the pledges made with its email, guest ones included, once the email is confirmed.
CREATE TABLE IF NOT EXISTS accounts (
    id              TEXT    PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    password_hash   TEXT    NOT NULL,
    confirmed_at_ms BIGINT,
    created_at_ms   BIGINT  NOT NULL
);

-- Signed-in sessions. The bearer token names one; signing out revokes it before it expires.
CREATE TABLE IF NOT EXISTS account_sessions (
    id            TEXT    PRIMARY KEY,
    account_id    TEXT    NOT NULL REFERENCES accounts (id),
    created_at_ms BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL,
    revoked_at_ms BIGINT
);
