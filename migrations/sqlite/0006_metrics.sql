-- Business counts the relay keeps for GET /metrics, so a scrape reads a handful of rows
-- instead of counting pledges or notifications. Each (name, label) is one figure:
--   pledges/<STATUS>          pledges whose relayed status is STATUS (moves up and down)
--   notifications/<sent|failed>, feed/<sent|failed>   deliveries finished, ever
-- The relay changes them in the transaction that applies or delivers, once per batch.
CREATE TABLE IF NOT EXISTS metric_counts (
    name  TEXT    NOT NULL,
    label TEXT    NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (name, label)
);

-- A database made before this table: start the counts from what the relay already did,
-- once (the table is empty only then).
INSERT INTO metric_counts (name, label, value)
SELECT name, label, n FROM (
    SELECT 'pledges' AS name, status AS label, COUNT(*) AS n FROM pledge_projection WHERE version > 0 GROUP BY status
    UNION ALL
    SELECT 'notifications', status, COUNT(*) FROM notifications WHERE status <> 'pending' GROUP BY status
    UNION ALL
    SELECT 'feed', status, COUNT(*) FROM feed_deliveries WHERE status <> 'pending' GROUP BY status
) AS existing
WHERE NOT EXISTS (SELECT 1 FROM metric_counts);
