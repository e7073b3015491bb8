-- Migration: 008_create_audit_log.sql
-- Description: Audit log of recovery case changes, written by a trigger
-- Author: Dana Whitfield
-- Date: 2024-04-09

CREATE TABLE IF NOT EXISTS audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    action text NOT NULL,
    old_row jsonb,
    new_row jsonb,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL DEFAULT current_user
);

CREATE INDEX IF NOT EXISTS idx_audit_log_row ON audit_log (table_name, row_id, changed_at);

CREATE OR REPLACE FUNCTION log_recovery_case_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (table_name, row_id, action, old_row, new_row)
    VALUES (
        TG_TABLE_NAME,
        COALESCE(NEW.id, OLD.id),
        TG_OP,
        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END
    );
    RETURN COALESCE(NEW, OLD);
END;
$$;

CREATE OR REPLACE TRIGGER trg_recovery_cases_audit
    AFTER INSERT OR UPDATE OR DELETE ON recovery_cases
    FOR EACH ROW EXECUTE FUNCTION log_recovery_case_change();

COMMENT ON TABLE audit_log IS 'Append-only history of changes to recovery cases';
COMMENT ON FUNCTION log_recovery_case_change() IS 'Trigger function: copies each change of a recovery case into audit_log';
