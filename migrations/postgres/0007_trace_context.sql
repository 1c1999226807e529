-- Generated from ../sqlite/0007_trace_context.sql by type substitution (INTEGER -> BIGINT);
-- keep the two in step.
-- The W3C trace context (`traceparent`) of the request that wrote an outbox event, and of
-- the event that queued a notification, so that the relay's work and the receipt join the
-- donation's trace (see shared/src/telemetry). Rows exist only for writes made under a
-- trace context; nothing else reads these tables.
CREATE TABLE IF NOT EXISTS outbox_trace_context (
    event_id    BIGINT  PRIMARY KEY,
    traceparent TEXT    NOT NULL
);

CREATE TABLE IF NOT EXISTS notification_trace_context (
    notification_id TEXT PRIMARY KEY,
    traceparent     TEXT NOT NULL
);
