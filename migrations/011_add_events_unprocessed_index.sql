-- Migration: 011_add_events_unprocessed_index.sql
-- Description: Partial index for the webhook processor queue, built without blocking writes
-- Author: Dana Whitfield
-- Date: 2024-05-02
-- pgshift:no-transaction

-- CREATE INDEX CONCURRENTLY cannot run inside a transaction: this file runs without one
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_events_unprocessed
    ON events (received_at)
    WHERE processed_at IS NULL;
