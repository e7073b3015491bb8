-- Rollback: 005_rollback.sql
-- Reverses migration: 005_create_recovery_cases.sql
-- Author: Priya Raman
-- Date: 2024-03-18

-- WARNING: This will permanently delete data
-- All recovery cases and their history are removed.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

DROP INDEX IF EXISTS idx_recovery_cases_open;
DROP INDEX IF EXISTS idx_recovery_cases_customer_id;

DROP TABLE IF EXISTS recovery_cases;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 005 completed successfully';
    RAISE NOTICE 'WARNING: All data in recovery_cases has been permanently deleted';
END $$;
