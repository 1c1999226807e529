-- Generated from ../sqlite/0003_refunds.sql by type substitution (INTEGER -> BIGINT,
-- AUTOINCREMENT key -> BIGSERIAL); keep the two in step.
-- Refunds an admin asked for. A refund row is written (status 'requested') before the
-- provider is called, so its amount is reserved against the captured amount and a retry
-- after a crash finds it and calls the provider again with the same idempotency key.
CREATE TABLE IF NOT EXISTS refunds (
    seq                BIGSERIAL PRIMARY KEY,
    id                 TEXT    NOT NULL UNIQUE,
    pledge_id          TEXT    NOT NULL REFERENCES pledges (id),
    amount_minor       BIGINT  NOT NULL CHECK (amount_minor > 0),
    status             TEXT    NOT NULL CHECK (status IN ('requested', 'succeeded', 'failed')),
    reason             TEXT,
    request_scope      TEXT    NOT NULL,
    request_key        TEXT    NOT NULL,
    provider_refund_id TEXT    UNIQUE,
    failure            TEXT,
    created_at_ms      BIGINT  NOT NULL,
    updated_at_ms      BIGINT  NOT NULL,
    UNIQUE (request_scope, request_key)
);
CREATE INDEX IF NOT EXISTS refunds_by_pledge ON refunds (pledge_id, seq);
