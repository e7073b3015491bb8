-- Migration: 002_create_subscriptions.sql
-- Description: Subscriptions of customers, mirrored from the payment provider
-- Author: Dana Whitfield
-- Date: 2024-03-04

CREATE TABLE IF NOT EXISTS subscriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    external_id text NOT NULL,
    plan_code text NOT NULL,
    status text NOT NULL DEFAULT 'active',
    amount_cents bigint NOT NULL,
    currency text NOT NULL DEFAULT 'usd',
    current_period_end timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_external_id_key UNIQUE (external_id),
    CONSTRAINT subscriptions_status_check
        CHECK (status IN ('trialing', 'active', 'past_due', 'unpaid', 'canceled')),
    CONSTRAINT subscriptions_amount_check CHECK (amount_cents >= 0)
);

CREATE INDEX IF NOT EXISTS idx_subscriptions_customer_id ON subscriptions (customer_id);
CREATE INDEX IF NOT EXISTS idx_subscriptions_past_due
    ON subscriptions (current_period_end)
    WHERE status = 'past_due';

COMMENT ON TABLE subscriptions IS 'Subscriptions of customers, kept in sync by the webhook processor';
