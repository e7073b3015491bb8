-- Rollback: 001_rollback.sql
-- Reverses migration: 001_create_customers.sql
-- Author: Dana Whitfield
-- Date: 2024-03-04

-- WARNING: This will permanently delete data
-- All rows of customers are removed.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

-- Drop indexes first
DROP INDEX IF EXISTS idx_customers_email;

-- Drop tables with proper warnings
DROP TABLE IF EXISTS customers;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 001 completed successfully';
    RAISE NOTICE 'WARNING: All data in customers has been permanently deleted';
END $$;
