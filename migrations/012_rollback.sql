-- Rollback: 012_rollback.sql
-- Reverses migration: 012_add_recovery_case_priority.sql
-- Author: Marco Bellini
-- Date: 2024-05-09

-- WARNING: This will permanently delete data
-- The priority of every recovery case is lost.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

ALTER TABLE notifications ALTER COLUMN channel SET DEFAULT 'email';

ALTER TABLE recovery_cases DROP COLUMN IF EXISTS priority;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 012 completed successfully';
    RAISE NOTICE 'WARNING: Column recovery_cases.priority has been permanently deleted';
END $$;
