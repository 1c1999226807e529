-- What the outbox relay maintains. Every consumer writes here inside the transaction that
-- marks its events published, so an event's effect exists exactly when it is published.

-- The relay's last-applied snapshot of each pledge. An event is applied only when it
-- carries a newer pledge version, and the totals move by the difference between the two
-- snapshots: a duplicate or a late (reordered) event changes nothing.
CREATE TABLE IF NOT EXISTS pledge_projection (
    pledge_id      TEXT    PRIMARY KEY,
    campaign_id    TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    amount_minor   INTEGER NOT NULL CHECK (amount_minor >= 0),
    captured_minor INTEGER NOT NULL CHECK (captured_minor BETWEEN 0 AND amount_minor),
    refunded_minor INTEGER NOT NULL CHECK (refunded_minor >= 0),
    disputed_minor INTEGER NOT NULL DEFAULT 0 CHECK (disputed_minor >= 0),
    CHECK (refunded_minor + disputed_minor <= captured_minor)
);

-- The campaign totals read model: one row per campaign, read in O(1).
CREATE TABLE IF NOT EXISTS campaign_totals (
    campaign_id    TEXT    PRIMARY KEY REFERENCES campaigns (id),
    currency       TEXT    NOT NULL CHECK (length(currency) = 3),
    pledged_minor  INTEGER NOT NULL CHECK (pledged_minor >= 0),
    captured_minor INTEGER NOT NULL CHECK (captured_minor >= 0),
    refunded_minor INTEGER NOT NULL CHECK (refunded_minor >= 0),
    disputed_minor INTEGER NOT NULL DEFAULT 0 CHECK (disputed_minor >= 0),
    pledge_count   INTEGER NOT NULL CHECK (pledge_count >= 0),
    captured_count INTEGER NOT NULL CHECK (captured_count >= 0),
    donor_count    INTEGER NOT NULL CHECK (donor_count >= 0),
    last_event_id  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    CHECK (refunded_minor + disputed_minor <= captured_minor)
);

-- Donors with at least one captured pledge, per campaign (for donor_count).
CREATE TABLE IF NOT EXISTS campaign_donors (
    campaign_id TEXT NOT NULL,
    donor_email TEXT NOT NULL,
    PRIMARY KEY (campaign_id, donor_email)
);

-- Payment failures per time window, for the failure-spike alert.
CREATE TABLE IF NOT EXISTS failure_windows (
    window_start_ms INTEGER PRIMARY KEY,
    failures        INTEGER NOT NULL CHECK (failures >= 0)
);

-- Outbound messages (donor receipts, admin alerts) and external feed deliveries: written
-- with the event that causes them, then sent with retries; the id travels as the
-- Idempotency-Key so a receiver can drop a resend after a crash.
CREATE TABLE IF NOT EXISTS notifications (
    id               TEXT    PRIMARY KEY,
    kind             TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    destination      TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    claimed_until_ms INTEGER,
    sent_at_ms       INTEGER,
    last_error       TEXT,
    created_at_ms    INTEGER NOT NULL,
    UNIQUE (kind, subject_id)
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_ms) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS feed_deliveries (
    id               TEXT    PRIMARY KEY,
    event_id         INTEGER NOT NULL,
    destination      TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    claimed_until_ms INTEGER,
    sent_at_ms       INTEGER,
    last_error       TEXT,
    created_at_ms    INTEGER NOT NULL,
    UNIQUE (event_id, destination)
);
CREATE INDEX IF NOT EXISTS feed_deliveries_due ON feed_deliveries (next_attempt_ms) WHERE status = 'pending';

-- One row per relay run that found work: the relay's health figures come from here.
CREATE TABLE IF NOT EXISTS relay_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at_ms INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    events        INTEGER NOT NULL,
    applied       INTEGER NOT NULL,
    delivered     INTEGER NOT NULL,
    retried       INTEGER NOT NULL
);

-- Outbox events no consumer could apply within the relay's attempts (a poison event):
-- marked published so the rest of the outbox flows, and kept here for an operator, who
-- sees them in the relay figures and gets an alert.
CREATE TABLE IF NOT EXISTS outbox_dead_letters (
    event_id      INTEGER PRIMARY KEY,
    event_type    TEXT    NOT NULL,
    aggregate_id  TEXT    NOT NULL,
    attempts      INTEGER NOT NULL,
    error         TEXT    NOT NULL,
    dead_at_ms    INTEGER NOT NULL
);
