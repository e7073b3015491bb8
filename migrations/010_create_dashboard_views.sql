-- Migration: 010_create_dashboard_views.sql
-- Description: Views behind the recovery dashboard
-- Author: Priya Raman
-- Date: 2024-04-23

CREATE OR REPLACE VIEW active_recovery_cases AS
SELECT
    rc.id,
    rc.status,
    rc.amount_due_cents,
    rc.currency,
    rc.opened_at,
    c.email AS customer_email,
    c.region AS customer_region
FROM recovery_cases rc
JOIN customers c ON c.id = rc.customer_id
WHERE rc.status IN ('open', 'in_progress');

CREATE OR REPLACE VIEW recovery_dashboard_daily AS
SELECT
    date_trunc('day', rc.opened_at) AS day,
    count(*) AS cases_opened,
    count(*) FILTER (WHERE rc.status = 'recovered') AS cases_recovered,
    COALESCE(sum(rc.amount_due_cents) FILTER (WHERE rc.status = 'recovered'), 0) AS recovered_cents
FROM recovery_cases rc
GROUP BY 1;

COMMENT ON VIEW active_recovery_cases IS 'Open and in-progress recovery cases with their customer';
COMMENT ON VIEW recovery_dashboard_daily IS 'Cases opened and recovered per day, for the dashboard';
