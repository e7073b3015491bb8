-- Migration: 001_create_customers.sql
-- Description: Customers of the merchants whose failed payments churn-saver recovers
-- Author: Dana Whitfield
-- Date: 2024-03-04

-- Use idempotent operations
CREATE TABLE IF NOT EXISTS customers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    external_id text NOT NULL,
    email text NOT NULL,
    full_name text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_external_id_key UNIQUE (external_id)
);

-- Include proper indexes
CREATE INDEX IF NOT EXISTS idx_customers_email ON customers (lower(email));

-- Add comments for documentation
COMMENT ON TABLE customers IS 'Customers of merchants using churn-saver, keyed by the payment provider id';
COMMENT ON COLUMN customers.external_id IS 'Customer id at the payment provider';
