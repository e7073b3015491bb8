-- Migration: 006_create_payment_attempts.sql
-- Description: Payment retries made for a recovery case
-- Author: Marco Bellini
-- Date: 2024-03-25

CREATE TABLE IF NOT EXISTS payment_attempts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    recovery_case_id uuid NOT NULL REFERENCES recovery_cases (id) ON DELETE CASCADE,
    provider_charge_id text,
    amount_cents bigint NOT NULL,
    outcome text NOT NULL DEFAULT 'pending',
    failure_code text,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payment_attempts_outcome_check CHECK (outcome IN ('pending', 'succeeded', 'failed')),
    CONSTRAINT payment_attempts_amount_check CHECK (amount_cents > 0)
);

CREATE INDEX IF NOT EXISTS idx_payment_attempts_case ON payment_attempts (recovery_case_id, attempted_at);

COMMENT ON TABLE payment_attempts IS 'Every retry of a failed payment, with the provider outcome';
