-- A machine's heartbeat death is recorded once in the audit trail, when the server's
-- upkeep first sees it overdue; a heartbeat clears the mark.
ALTER TABLE machines ADD COLUMN death_recorded_at TEXT;
