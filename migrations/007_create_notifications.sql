-- Migration: 007_create_notifications.sql
-- Description: Dunning notifications sent to customers
-- Author: Marco Bellini
-- Date: 2024-04-02

CREATE TABLE IF NOT EXISTS notifications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    recovery_case_id uuid NOT NULL REFERENCES recovery_cases (id) ON DELETE CASCADE,
    channel text NOT NULL DEFAULT 'email',
    template text NOT NULL,
    sent_at timestamptz,
    opened_at timestamptz,
    clicked_at timestamptz,
    CONSTRAINT notifications_channel_check CHECK (channel IN ('email', 'sms', 'in_app'))
);

CREATE INDEX IF NOT EXISTS idx_notifications_case ON notifications (recovery_case_id);

COMMENT ON TABLE notifications IS 'Dunning messages (email, SMS, in-app) sent for a recovery case';
