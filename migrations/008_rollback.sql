-- Rollback: 008_rollback.sql
-- Reverses migration: 008_create_audit_log.sql
-- Author: Dana Whitfield
-- Date: 2024-04-09

-- WARNING: This will permanently delete data
-- The audit history of recovery cases is removed.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

-- Drop the trigger before the function it calls
DROP TRIGGER IF EXISTS trg_recovery_cases_audit ON recovery_cases;
DROP FUNCTION IF EXISTS log_recovery_case_change();

DROP INDEX IF EXISTS idx_audit_log_row;
DROP TABLE IF EXISTS audit_log;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 008 completed successfully';
    RAISE NOTICE 'WARNING: All data in audit_log has been permanently deleted';
END $$;
