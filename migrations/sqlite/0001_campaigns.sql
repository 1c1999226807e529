-- Campaigns. `seq` orders the list and backs the pagination cursor; `id` is public.
-- WAL lets readers proceed while one writer commits; it is a property of the file.
PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS campaigns (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    title         TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    goal_minor    INTEGER NOT NULL CHECK (goal_minor > 0),
    currency      TEXT    NOT NULL CHECK (length(currency) = 3),
    status        TEXT    NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'CLOSED')),
    version       INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
