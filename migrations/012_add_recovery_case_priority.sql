-- Migration: 012_add_recovery_case_priority.sql
-- Description: Priority of recovery cases; in-app notifications become the default channel
-- Author: Marco Bellini
-- Date: 2024-05-09
-- pgshift:high-risk

ALTER TABLE recovery_cases ADD COLUMN IF NOT EXISTS priority bigint DEFAULT 0;

ALTER TABLE notifications ALTER COLUMN channel SET DEFAULT 'in_app';

COMMENT ON COLUMN recovery_cases.priority IS 'Higher first: set by the scoring job from amount and churn risk';
