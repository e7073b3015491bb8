-- Rollback: 007_rollback.sql
-- Reverses migration: 007_create_notifications.sql
-- Author: Marco Bellini
-- Date: 2024-04-02

-- WARNING: This will permanently delete data
-- All notification history is removed.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

DROP INDEX IF EXISTS idx_notifications_case;

DROP TABLE IF EXISTS notifications;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 007 completed successfully';
    RAISE NOTICE 'WARNING: All data in notifications has been permanently deleted';
END $$;
