-- Rollback: 004_rollback.sql
-- Reverses migration: 004_create_recovery_case_status.sql
-- Author: Priya Raman
-- Date: 2024-03-11

-- Use transactions for safety
BEGIN;

DROP TYPE IF EXISTS recovery_case_status;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 004 completed successfully';
END $$;
