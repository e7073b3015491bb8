-- Rollback: 011_rollback.sql
-- Reverses migration: 011_add_events_unprocessed_index.sql
-- Author: Dana Whitfield
-- Date: 2024-05-02
-- pgshift:no-transaction

-- DROP INDEX CONCURRENTLY cannot run inside a transaction: this file runs without one
DROP INDEX CONCURRENTLY IF EXISTS idx_events_unprocessed;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 011 completed successfully';
END $$;
