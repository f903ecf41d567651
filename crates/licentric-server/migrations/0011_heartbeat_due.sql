-- When each machine's next heartbeat is due (a Julian day number; NULL when its policy
-- requires none), kept by triggers, so "which machines are dead now" is a range of an
-- index rather than a join of every machine to its policy. The same rule as
-- db::machines::heartbeat(): due one interval after the last heartbeat, or activation.
ALTER TABLE machines ADD COLUMN heartbeat_due_jd REAL;
CREATE INDEX machines_by_due ON machines (account_id, environment, heartbeat_due_jd);

UPDATE machines SET heartbeat_due_jd = (
    SELECT CASE WHEN p.require_heartbeat
                THEN julianday(coalesce(machines.last_heartbeat_at, machines.created_at))
                     + p.heartbeat_interval_secs / 86400.0 END
    FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.id = machines.license_id);

CREATE TRIGGER machines_due_insert AFTER INSERT ON machines BEGIN
    UPDATE machines SET heartbeat_due_jd = (
        SELECT CASE WHEN p.require_heartbeat
                    THEN julianday(coalesce(NEW.last_heartbeat_at, NEW.created_at))
                         + p.heartbeat_interval_secs / 86400.0 END
        FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.id = NEW.license_id)
    WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER machines_due_heartbeat AFTER UPDATE OF last_heartbeat_at ON machines BEGIN
    UPDATE machines SET heartbeat_due_jd = (
        SELECT CASE WHEN p.require_heartbeat
                    THEN julianday(coalesce(NEW.last_heartbeat_at, NEW.created_at))
                         + p.heartbeat_interval_secs / 86400.0 END
        FROM licenses l JOIN policies p ON p.id = l.policy_id WHERE l.id = NEW.license_id)
    WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER machines_due_policy AFTER UPDATE OF require_heartbeat, heartbeat_interval_secs ON policies BEGIN
    UPDATE machines SET heartbeat_due_jd =
        CASE WHEN NEW.require_heartbeat
             THEN julianday(coalesce(last_heartbeat_at, created_at)) + NEW.heartbeat_interval_secs / 86400.0 END
    WHERE license_id IN (SELECT id FROM licenses WHERE policy_id = NEW.id);
END;

CREATE TRIGGER machines_due_license_policy AFTER UPDATE OF policy_id ON licenses BEGIN
    UPDATE machines SET heartbeat_due_jd = (
        SELECT CASE WHEN p.require_heartbeat
                    THEN julianday(coalesce(machines.last_heartbeat_at, machines.created_at))
                         + p.heartbeat_interval_secs / 86400.0 END
        FROM policies p WHERE p.id = NEW.policy_id)
    WHERE license_id = NEW.id;
END;

-- Machines already silent when this server version starts died before anyone could be
-- told: mark them recorded, so the upkeep records new deaths rather than a backlog.
UPDATE machines SET death_recorded_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
WHERE heartbeat_due_jd <= julianday('now');
