-- Business counts the relay keeps for GET /metrics, so a scrape reads a handful of rows
-- instead of counting pledges or notifications. Each (name, label) is one figure:
--   pledges/<STATUS>          pledges whose relayed status is STATUS (moves up and down)
--   notifications/<sent|failed>, feed/<sent|failed>   deliveries finished, ever
--   webhooks/<outcome>#<shard>, idempotency/<answer>#<shard>   requests, ever
-- The relay changes the first three in the transaction that applies or delivers, once
-- per batch; a request adds one to one of 16 rows of its count (spread so that
-- concurrent requests rarely wait on one row), which reads add up.
CREATE TABLE IF NOT EXISTS metric_counts (
    name  TEXT    NOT NULL,
    label TEXT    NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (name, label)
);

-- A database made before this table: start the counts from what is stored, once (the
-- table is empty only then). Webhooks are the provider events whose ids are the
-- provider's (the app's own records of the provider's answers are named `kind:id`).
-- Idempotent answers and duplicates of events for unknown payments leave no row to
-- count and start from zero.
INSERT INTO metric_counts (name, label, value)
SELECT name, label, n FROM (
    SELECT 'pledges' AS name, status AS label, COUNT(*) AS n FROM pledge_projection WHERE version > 0 GROUP BY status
    UNION ALL
    SELECT 'notifications', status, COUNT(*) FROM notifications WHERE status <> 'pending' GROUP BY status
    UNION ALL
    SELECT 'feed', status, COUNT(*) FROM feed_deliveries WHERE status <> 'pending' GROUP BY status
    UNION ALL
    SELECT 'webhooks', outcome, COUNT(*) FROM processed_provider_events WHERE outcome <> 'processing' AND event_id NOT LIKE '%:%' GROUP BY outcome
    UNION ALL
    SELECT 'webhooks', 'duplicate', COUNT(*) FROM pledge_events WHERE outcome = 'duplicate' AND provider_event_id NOT LIKE '%:%'
) AS existing
WHERE NOT EXISTS (SELECT 1 FROM metric_counts);
