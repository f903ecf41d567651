// Newest first, filtered by record, action, actor and time; each event opens to show its
// changes. Pages go back in time by event id, so new events do not shift them.
import { useMemo, useState } from "react";
import { listApiKeys } from "../../../api/console/apiKeys";
import { exportEventsCsv, listEvents } from "../../../api/console/events";
import type { AuditEvent } from "../../../bindings/AuditEvent";
import type { SavedExport } from "../../../bindings/SavedExport";
import { EmptyState, Loading } from "../../../components/EmptyState";
import { Field } from "../../../components/Field";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { PageHeader, useDebounced, usePaged, When } from "../catalog";

const RESOURCE_TYPES = ["license", "machine", "product", "policy", "entitlement", "webhook", "api_key", "signing_key"];
// The actions the server records (its audit calls); the box accepts any other too.
const ACTIONS = [
  "license.created",
  "license.updated",
  "license.deleted",
  "license.suspended",
  "license.reinstated",
  "license.revoked",
  "license.banned",
  "license.renewed",
  "license.validated",
  "license.offline_file_issued",
  "machine.activated",
  "machine.deactivated",
  "machine.heartbeat_dead",
  "machine.culled",
  "product.created",
  "product.updated",
  "product.deleted",
  "policy.created",
  "policy.updated",
  "policy.deleted",
  "entitlement.created",
  "entitlement.updated",
  "entitlement.deleted",
  "api_key.created",
  "api_key.rotated",
  "api_key.revoked",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "webhook.disabled",
  "webhook.secret_rotated",
  "webhook.tested",
  "webhook.redelivered",
  "signing_key.rotated",
];

const eventId = (e: AuditEvent) => e.id;

/**
 * The time range, as a vendor picks it: presets counted back from the moment they are
 * chosen, or a range of their own. The From and Until fields appear only for "custom",
 * filled in: WebKit shows an empty `datetime-local` field as a greyed date and time that
 * reads like a filter already set.
 */
const RANGES: { value: string; label: string; hours?: number }[] = [
  { value: "", label: "Any time" },
  { value: "1h", label: "Last hour", hours: 1 },
  { value: "24h", label: "Last 24 hours", hours: 24 },
  { value: "7d", label: "Last 7 days", hours: 24 * 7 },
  { value: "30d", label: "Last 30 days", hours: 24 * 30 },
  { value: "custom", label: "Custom range…" },
];

const HOUR_MS = 3_600_000;

/** A moment as a `datetime-local` value (to the minute, in the reader's zone). */
function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** A `datetime-local` value as RFC 3339 in the reader's zone; blank stays blank. */
function toRfc3339(local: string): string {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

export function AuditList() {
  const [resourceType, setResourceType] = useState("");
  const [resourceId, setResourceId] = useState("");
  const [action, setAction] = useState("");
  const [actorId, setActorId] = useState("");
  const [range, setRange] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const typed = { resourceId: useDebounced(resourceId.trim(), 350), action: useDebounced(action.trim(), 350) };
  const keys = useLoad(() => listApiKeys({ limit: 100, sort: "name" }), "keys");
  const query = useMemo(
    () => ({
      filters: {
        resourceType,
        resourceId: typed.resourceId,
        action: typed.action,
        actorId,
        since: toRfc3339(since),
        until: toRfc3339(until),
      },
    }),
    [resourceType, typed.resourceId, typed.action, actorId, since, until],
  );
  const list = usePaged(listEvents, query, eventId);
  const filtered = Object.values(query.filters).some(Boolean);

  // The export takes what the filters match, every page of it.
  const [saved, setSaved] = useState<SavedExport | null>(null);
  const exporter = useCommand(exportEventsCsv);
  const runExport = async () => {
    setSaved(null);
    const answer = await exporter.run(query);
    if (answer) setSaved(answer);
  };

  function chooseRange(value: string) {
    const now = Date.now();
    const hours = RANGES.find((r) => r.value === value)?.hours;
    setRange(value);
    if (value === "custom") {
      // The last day, up to the end of this minute, ready to be narrowed.
      setSince(toLocalInput(now - 24 * HOUR_MS));
      setUntil(toLocalInput(now + 60_000));
    } else {
      setSince(hours ? toLocalInput(now - hours * HOUR_MS) : "");
      setUntil("");
    }
  }

  function clear() {
    setResourceType("");
    setResourceId("");
    setAction("");
    setActorId("");
    chooseRange("");
  }

  return (
    <section className="console-page" data-testid="audit-view">
      <PageHeader
        title="Audit log"
        description="Every change made through the API or this console, and what apps did with their licenses: who, what, when. Open an event to see what changed."
        actions={
          <button type="button" className="button small" data-testid="audit-export" disabled={exporter.busy} onClick={() => void runExport()}>
            {exporter.busy ? "Exporting…" : "Export CSV"}
          </button>
        }
      />
      {exporter.error && (
        <div className="alert alert-error" role="alert" data-testid="audit-export-error">
          {exporter.error.message}
        </div>
      )}
      {saved && (
        <div className="alert alert-ok lic-saved" role="status" data-testid="audit-export-saved">
          <span>
            Exported {saved.rows.toLocaleString("en-US")} {saved.rows === 1 ? "event" : "events"} to <code>{saved.path}</code>
          </span>
          <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => setSaved(null)}>
            ×
          </button>
        </div>
      )}
      <div className="card audit-filters" role="search" aria-label="Filter the audit log">
        <Field label="Record type">
          <select data-testid="audit-resource-type" value={resourceType} onChange={(e) => setResourceType(e.target.value)}>
            <option value="">Any</option>
            {RESOURCE_TYPES.map((t) => (
              <option key={t} value={t}>
                {t.replace("_", " ")}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Record id">
          <input data-testid="audit-resource-id" value={resourceId} onChange={(e) => setResourceId(e.target.value)} placeholder="any" spellCheck={false} />
        </Field>
        <Field label="Action">
          <input data-testid="audit-action" list="audit-actions" value={action} onChange={(e) => setAction(e.target.value)} placeholder="any, e.g. license.suspended" spellCheck={false} />
        </Field>
        <datalist id="audit-actions">
          {ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <Field label="By (API key)">
          <select data-testid="audit-actor" value={actorId} onChange={(e) => setActorId(e.target.value)}>
            <option value="">Anyone</option>
            {keys.data?.data.map((k) => (
              <option key={k.id} value={k.id}>
                {k.name} ({k.displayPrefix}…)
              </option>
            ))}
          </select>
        </Field>
        <Field label="When">
          <select data-testid="audit-range" value={range} onChange={(e) => chooseRange(e.target.value)}>
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </Field>
        {range === "custom" && (
          <>
            <Field label="From">
              <input type="datetime-local" data-testid="audit-since" value={since} onChange={(e) => setSince(e.target.value)} />
            </Field>
            <Field label="Until">
              <input type="datetime-local" data-testid="audit-until" value={until} onChange={(e) => setUntil(e.target.value)} />
            </Field>
          </>
        )}
        <div className="field">
          <button type="button" className="button" onClick={clear} disabled={!filtered && !resourceId && !action && !range}>
            Clear filters
          </button>
        </div>
      </div>
      {list.error && (
        <div className="alert alert-error" role="alert" data-testid="audit-error">
          {list.error.message}
        </div>
      )}
      <p className="muted small" data-testid="audit-count" aria-live="polite">
        {list.total === null ? "" : `${list.total.toLocaleString("en-US")} ${list.total === 1 ? "event" : "events"}${filtered ? " match" : ""}, newest first`}
      </p>
      <ul className="audit-list" data-testid="audit-list">
        {list.rows.length > 0 && (
          <li className="audit-head" aria-hidden="true">
            <span />
            <span>When</span>
            <span>Who</span>
            <span>What</span>
            <span>Record</span>
          </li>
        )}
        {list.rows.map((event) => (
          <AuditRow key={event.id} event={event} />
        ))}
        {list.rows.length === 0 && !list.loading && !list.error && (
          <li className="empty" data-testid="audit-empty">
            <EmptyState title={filtered ? "No event matches these filters." : "Nothing has happened yet."}>
              {filtered ? "Widen the time range or clear a filter." : "Changes made through the API or this console appear here."}
            </EmptyState>
          </li>
        )}
      </ul>
      {list.loading && <Loading what="events" />}
      {list.hasMore && !list.loading && (
        <div className="load-more">
          <button type="button" className="button" data-testid="audit-more" onClick={list.loadMore}>
            Show older events
          </button>
        </div>
      )}
    </section>
  );
}

export function actorText(event: AuditEvent): string {
  switch (event.actorType) {
    case "api_key":
      return event.actorName ? `${event.actorName} (API key)` : `API key ${event.actorId ?? ""}`;
    case "license":
      return `License ${event.actorId ?? ""} (its app)`;
    case "anonymous":
      return "An app (validating a key)";
    case "system":
      return "Licentric itself";
    default:
      return event.actorName ?? event.actorType;
  }
}

function AuditRow(props: { event: AuditEvent }) {
  const { event } = props;
  const [open, setOpen] = useState(false);
  const changes = event.changes ? Object.entries(event.changes) : [];
  return (
    <li>
      <details className="audit-event" data-testid="audit-event" data-action={event.action} onToggle={(e) => setOpen(e.currentTarget.open)}>
        <summary>
          <span className="chevron" aria-hidden="true">
            ▸
          </span>
          <span className="cell">
            <When iso={event.occurredAt} />
          </span>
          <span className="cell" data-testid="audit-actor-name" title={actorText(event)}>
            {actorText(event)}
          </span>
          <span className="cell">
            <code data-testid="audit-action-name">{event.action}</code>
          </span>
          <span className="cell muted" title={event.resourceId ?? undefined}>
            {event.resourceType ? `${event.resourceType.replace("_", " ")} ` : ""}
            <code>{event.resourceId ?? ""}</code>
          </span>
        </summary>
        {open && (
          <div className="audit-body" data-testid="audit-event-body">
            <dl className="facts small">
              <dt>When</dt>
              <dd>{event.occurredAt}</dd>
              <dt>Who</dt>
              <dd>
                {actorText(event)}
                {event.actorId && (
                  <>
                    {" "}
                    <code className="muted">{event.actorId}</code>
                  </>
                )}
              </dd>
              {event.clientAddress && (
                <>
                  <dt>From</dt>
                  <dd>{event.clientAddress}</dd>
                </>
              )}
              {event.requestId && (
                <>
                  <dt>Request</dt>
                  <dd>
                    <code>{event.requestId}</code>
                  </dd>
                </>
              )}
            </dl>
            {changes.length === 0 ? (
              <p className="muted">No field changes recorded for this event.</p>
            ) : (
              <table className="changes" data-testid="audit-changes">
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map(([field, value]) => {
                    const pair = beforeAfter(value);
                    return (
                      <tr key={field}>
                        <th scope="row">{field}</th>
                        {pair ? (
                          <>
                            <td>{show(pair.before)}</td>
                            <td>{show(pair.after)}</td>
                          </>
                        ) : (
                          <td colSpan={2}>{show(value)}</td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </div>
        )}
      </details>
    </li>
  );
}

function beforeAfter(value: unknown): { before: unknown; after: unknown } | null {
  if (typeof value === "object" && value !== null && ("before" in value || "after" in value)) {
    const v = value as { before?: unknown; after?: unknown };
    return { before: v.before, after: v.after };
  }
  return null;
}

function show(value: unknown): string {
  if (value === undefined || value === null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}
