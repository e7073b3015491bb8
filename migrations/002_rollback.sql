-- Rollback: 002_rollback.sql
-- Reverses migration: 002_create_subscriptions.sql
-- Author: Dana Whitfield
-- Date: 2024-03-04

-- WARNING: This will permanently delete data
-- All rows of subscriptions are removed.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

DROP INDEX IF EXISTS idx_subscriptions_past_due;
DROP INDEX IF EXISTS idx_subscriptions_customer_id;

DROP TABLE IF EXISTS subscriptions;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 002 completed successfully';
    RAISE NOTICE 'WARNING: All data in subscriptions has been permanently deleted';
END $$;
