-- Rollback: 009_rollback.sql
-- Reverses migration: 009_add_customer_region_and_segment.sql
-- Author: Marco Bellini
-- Date: 2024-04-16

-- WARNING: This will permanently delete data
-- The region and segment of every customer are lost.
-- Consider backing up critical data before proceeding

-- Use transactions for safety
BEGIN;

ALTER TABLE customers DROP COLUMN IF EXISTS segment;
ALTER TABLE customers DROP COLUMN IF EXISTS region;

COMMIT;

-- Log completion
DO $$
BEGIN
    RAISE NOTICE 'Rollback 009 completed successfully';
    RAISE NOTICE 'WARNING: Columns customers.region and customers.segment have been permanently deleted';
END $$;
