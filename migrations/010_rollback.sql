-- Rollback: 010_rollback.sql
-- Reverses migration: 010_create_dashboard_views.sql
-- Author: Priya Raman
-- Date: 2024-04-23

-- Use transactions for safety
BEGIN;

-- Views hold no data: dropping them loses nothing
DROP VIEW IF EXISTS recovery_dashboard_daily;
DROP VIEW IF EXISTS active_recovery_cases;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 010 completed successfully';
END $$;
