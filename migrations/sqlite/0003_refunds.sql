-- Refunds of a pledge. One an admin asks for is written (status 'requested') before the
-- provider is called, so its amount is reserved against the captured amount and a retry
-- after a crash finds it and calls the provider again with the same idempotency key; one
-- made at the provider directly arrives by webhook and has no request scope or key. The
-- status only moves forward (requested, pending, succeeded, failed: a refund can fail
-- after it succeeded); only 'succeeded' counts as refunded.
CREATE TABLE IF NOT EXISTS refunds (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT    NOT NULL UNIQUE,
    pledge_id          TEXT    NOT NULL REFERENCES pledges (id),
    amount_minor       INTEGER NOT NULL CHECK (amount_minor > 0),
    status             TEXT    NOT NULL CHECK (status IN ('requested', 'pending', 'succeeded', 'failed')),
    reason             TEXT,
    request_scope      TEXT,
    request_key        TEXT,
    provider_refund_id TEXT    UNIQUE,
    failure            TEXT,
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    UNIQUE (request_scope, request_key)
);
CREATE INDEX IF NOT EXISTS refunds_by_pledge ON refunds (pledge_id, seq);
