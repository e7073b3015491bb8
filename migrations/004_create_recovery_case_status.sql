-- Migration: 004_create_recovery_case_status.sql
-- Description: Enum of the states a recovery case moves through
-- Author: Priya Raman
-- Date: 2024-03-11

-- CREATE TYPE has no IF NOT EXISTS: ignore the error when the type already exists
DO $$
BEGIN
    CREATE TYPE recovery_case_status AS ENUM ('open', 'in_progress', 'recovered', 'lost', 'canceled');
EXCEPTION
    WHEN duplicate_object THEN NULL;
END $$;

COMMENT ON TYPE recovery_case_status IS 'Lifecycle of a recovery case: open -> in_progress -> recovered | lost | canceled';
