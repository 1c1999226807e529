-- Campaigns. `seq` orders the list and backs the pagination cursor; `id` is public.
CREATE TABLE IF NOT EXISTS campaigns (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    title         TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    goal_minor    BIGINT  NOT NULL CHECK (goal_minor > 0),
    currency      TEXT    NOT NULL CHECK (length(currency) = 3),
    status        TEXT    NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'CLOSED')),
    version       BIGINT  NOT NULL DEFAULT 1,
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL
);
