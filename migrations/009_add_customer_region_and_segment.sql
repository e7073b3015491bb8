-- Migration: 009_add_customer_region_and_segment.sql
-- Description: Region and segment of customers, for dashboard breakdowns
-- Author: Marco Bellini
-- Date: 2024-04-16

-- Nullable column and a column with a constant default: no table rewrite on PostgreSQL 11+
ALTER TABLE customers ADD COLUMN IF NOT EXISTS region text;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS segment text DEFAULT 'smb';

COMMENT ON COLUMN customers.region IS 'ISO 3166-1 alpha-2 country code of the billing address';
COMMENT ON COLUMN customers.segment IS 'Sales segment: smb, mid_market or enterprise';
