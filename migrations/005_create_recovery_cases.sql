-- Migration: 005_create_recovery_cases.sql
-- Description: Recovery cases opened for failed payments
-- Author: Priya Raman
-- Date: 2024-03-18

CREATE TABLE IF NOT EXISTS recovery_cases (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    subscription_id uuid REFERENCES subscriptions (id) ON DELETE SET NULL,
    trigger_event_id uuid REFERENCES events (id) ON DELETE SET NULL,
    status recovery_case_status NOT NULL DEFAULT 'open',
    amount_due_cents bigint NOT NULL,
    currency text NOT NULL DEFAULT 'usd',
    opened_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    CONSTRAINT recovery_cases_amount_check CHECK (amount_due_cents >= 0),
    CONSTRAINT recovery_cases_closed_after_opened CHECK (closed_at IS NULL OR closed_at >= opened_at)
);

CREATE INDEX IF NOT EXISTS idx_recovery_cases_customer_id ON recovery_cases (customer_id);
CREATE INDEX IF NOT EXISTS idx_recovery_cases_open
    ON recovery_cases (opened_at)
    WHERE status IN ('open', 'in_progress');

COMMENT ON TABLE recovery_cases IS 'One case per failed payment that churn-saver tries to recover';
