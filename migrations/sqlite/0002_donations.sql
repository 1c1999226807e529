-- Pledges, their append-only status history, provider events seen, idempotency keys and
-- the transactional outbox. Money columns are integer minor units; CHECKs restate the
-- invariants so a bug cannot store an impossible pledge.
CREATE TABLE IF NOT EXISTS pledges (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT    NOT NULL UNIQUE,
    campaign_id         TEXT    NOT NULL REFERENCES campaigns (id),
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    currency            TEXT    NOT NULL CHECK (length(currency) = 3),
    status              TEXT    NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED',
                                'PARTIALLY_REFUNDED', 'REFUNDED', 'PAYMENT_FAILED', 'CANCELED')),
    captured_minor      INTEGER NOT NULL DEFAULT 0 CHECK (captured_minor BETWEEN 0 AND amount_minor),
    refunded_minor      INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    disputed_minor      INTEGER NOT NULL DEFAULT 0 CHECK (disputed_minor >= 0),
    donor_email         TEXT    NOT NULL,
    donor_name          TEXT,
    anonymous           INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
    provider_payment_id TEXT    UNIQUE,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    CHECK (refunded_minor + disputed_minor <= captured_minor)
);
CREATE INDEX IF NOT EXISTS pledges_by_campaign ON pledges (campaign_id, seq);
CREATE INDEX IF NOT EXISTS pledges_by_donor ON pledges (donor_email, seq);
-- Unpaid pledges by age, for cancelling the abandoned ones without a scan.
CREATE INDEX IF NOT EXISTS pledges_unpaid ON pledges (updated_at_ms) WHERE status IN ('PENDING', 'PAYMENT_FAILED');
-- Pledges waiting on the provider, for the operators' stuck-pledges view.
CREATE INDEX IF NOT EXISTS pledges_awaiting_provider ON pledges (seq) WHERE status IN ('PENDING', 'AUTHORIZED');

CREATE TABLE IF NOT EXISTS pledge_events (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    pledge_id         TEXT    NOT NULL REFERENCES pledges (id),
    provider_event_id TEXT,
    kind              TEXT    NOT NULL,
    outcome           TEXT    NOT NULL CHECK (outcome IN ('applied', 'implied', 'recorded', 'stale', 'duplicate', 'invalid')),
    from_status       TEXT,
    to_status         TEXT,
    detail            TEXT,
    recorded_at_ms    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pledge_events_by_pledge ON pledge_events (pledge_id, seq);
-- Events that contradicted their pledge, which reconciliation lists for an operator.
CREATE INDEX IF NOT EXISTS pledge_events_invalid ON pledge_events (seq) WHERE outcome = 'invalid';

CREATE TABLE IF NOT EXISTS processed_provider_events (
    event_id        TEXT    PRIMARY KEY,
    pledge_id       TEXT,
    outcome         TEXT    NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT    NOT NULL,
    processed_at_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope           TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    locked_at_ms    INTEGER,
    recovery_point  TEXT    NOT NULL CHECK (recovery_point IN ('started', 'pledge_created', 'finished')),
    pledge_id       TEXT,
    response_status INTEGER,
    response_body   TEXT,
    created_at_ms   INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE IF NOT EXISTS outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_id     TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    claimed_until_ms INTEGER,
    published_at_ms  INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at_ms IS NULL;
