-- Migration: 003_create_events.sql
-- Description: Webhook events received from the payment provider
-- Author: Priya Raman
-- Date: 2024-03-11

CREATE TABLE IF NOT EXISTS events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider text NOT NULL DEFAULT 'stripe',
    external_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    processing_error text,
    CONSTRAINT events_provider_external_id_key UNIQUE (provider, external_id)
);

CREATE INDEX IF NOT EXISTS idx_events_event_type ON events (event_type, received_at);

COMMENT ON TABLE events IS 'Incoming payment-provider webhooks, stored before processing (deduplicated by provider and id)';
