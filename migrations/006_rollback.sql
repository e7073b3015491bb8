-- Rollback: 006_rollback.sql
-- Reverses migration: 006_create_payment_attempts.sql
-- Author: Marco Bellini
-- Date: 2024-03-25

-- WARNING: This will permanently delete data
-- All payment attempt history is removed.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

DROP INDEX IF EXISTS idx_payment_attempts_case;

DROP TABLE IF EXISTS payment_attempts;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 006 completed successfully';
    RAISE NOTICE 'WARNING: All data in payment_attempts has been permanently deleted';
END $$;
