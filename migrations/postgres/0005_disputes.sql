-- Generated from ../sqlite/0005_disputes.sql by type substitution (INTEGER -> BIGINT,
-- AUTOINCREMENT key -> BIGSERIAL); keep the two in step.
-- Disputes (chargebacks) the provider reports on captured payments. The review status and
-- the funds each only move forward; the pledge's disputed amount is the sum over its
-- disputes whose funds are 'withdrawn'.
CREATE TABLE IF NOT EXISTS disputes (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    pledge_id     TEXT    NOT NULL REFERENCES pledges (id),
    amount_minor  BIGINT  NOT NULL CHECK (amount_minor > 0),
    status        TEXT    NOT NULL CHECK (status IN ('open', 'under_review', 'won', 'lost')),
    funds         TEXT    NOT NULL CHECK (funds IN ('held', 'withdrawn', 'reinstated')),
    reason        TEXT,
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS disputes_by_pledge ON disputes (pledge_id, seq);
-- Disputes still waiting on a decision, for the admin figures without a scan.
CREATE INDEX IF NOT EXISTS disputes_undecided ON disputes (created_at_ms) WHERE status IN ('open', 'under_review');
