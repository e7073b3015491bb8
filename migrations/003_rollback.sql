-- Rollback: 003_rollback.sql
-- Reverses migration: 003_create_events.sql
-- Author: Priya Raman
-- Date: 2024-03-11

-- WARNING: This will permanently delete data
-- All stored webhook events are removed; they cannot be replayed from the provider after its retention period.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

DROP INDEX IF EXISTS idx_events_event_type;

DROP TABLE IF EXISTS events;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 003 completed successfully';
    RAISE NOTICE 'WARNING: All data in events has been permanently deleted';
END $$;
