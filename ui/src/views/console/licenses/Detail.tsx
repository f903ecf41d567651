// One license: what it is and where it stands, its entitlements, the machines on it, what
// happened to it (audit timeline), its actions, and "Why is it failing?" (every check a
// validation would make, without counting a use).
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import { listEntitlements } from "../../../api/console/entitlements";
import { listEvents } from "../../../api/console/events";
import {
  attachEntitlements,
  detachEntitlement,
  diagnoseLicense,
  getLicense,
  licenseAction,
} from "../../../api/console/licenses";
import { deleteMachine, listMachines } from "../../../api/console/machines";
import { getPolicy } from "../../../api/console/policies";
import type { AuditEvent } from "../../../bindings/AuditEvent";
import type { Diagnosis } from "../../../bindings/Diagnosis";
import type { Entitlement } from "../../../bindings/Entitlement";
import type { License } from "../../../bindings/License";
import type { LicenseAction } from "../../../bindings/LicenseAction";
import type { Machine } from "../../../bindings/Machine";
import type { Policy } from "../../../bindings/Policy";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { Loading } from "../../../components/EmptyState";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { copyText } from "../../../lib/clipboard";
import { formatDateTime, relativeTo } from "../../../lib/time";
import { Requires, useScope } from "../session";
import { useCatalog } from "./catalog";
import { ACTIONS, customerEmail, expiryWords, humanTimes, isExpired, PLATFORM_NAMES } from "./helpers";
import { EditLicense } from "./Form";
import { StatusChip } from "./List";

export function LicenseDetail(props: { id: string }) {
  const { id } = props;
  const [, navigate] = useLocation();
  const toast = useToast();
  const canWrite = useScope("licenses:write");
  const catalog = useCatalog();
  const load = useLoad(() => getLicense(id), id);
  const license = load.data;
  const [timelineVersion, setTimelineVersion] = useState(0);
  const refreshTimeline = () => setTimelineVersion((v) => v + 1);

  const act = useCommand(licenseAction);
  const [pending, setPending] = useState<LicenseAction | null>(null);
  const [editing, setEditing] = useState(false);
  // After Suspend the button is Reinstate (and the other way round): the focus goes there.
  const actionsBar = useRef<HTMLDivElement>(null);
  const run = async (action: LicenseAction, undoable: boolean) => {
    const answer = await act.run(id, action);
    setPending(null);
    if (answer === undefined) return;
    refreshTimeline();
    if (answer === null) {
      toast({ message: "License deleted." });
      navigate("/");
      return;
    }
    load.setData(answer);
    const undo: LicenseAction | null = action === "suspend" ? "reinstate" : action === "reinstate" ? "suspend" : null;
    toast({
      message: `License ${ACTIONS[action].done}.`,
      action: undo && undoable ? { label: "Undo", run: () => void run(undo, false) } : undefined,
    });
  };

  if (!license) {
    return (
      <section className="console-page">
        <p className="breadcrumb">
          <Link href="/">Licenses</Link> ›
        </p>
        {load.error ? (
          <div className="alert alert-error" role="alert" data-testid="license-error">
            {load.error.message}{" "}
            <button type="button" className="button small" onClick={load.reload}>
              Try again
            </button>
          </div>
        ) : (
          <Loading what="the license" />
        )}
      </section>
    );
  }

  const available: LicenseAction[] = [];
  if (license.status === "active") available.push("suspend");
  if (license.status === "suspended") available.push("reinstate");
  if (license.status !== "revoked") available.push("renew");
  if (license.status === "active" || license.status === "suspended") available.push("ban");
  if (license.status !== "revoked") available.push("revoke");
  available.push("delete");
  const email = customerEmail(license);

  return (
    <section className="console-page license-detail" data-testid="license-detail">
      <p className="breadcrumb">
        <Link href="/">Licenses</Link> › <span className="mono">{license.key}</span>
      </p>
      <header className="page-header">
        <div>
          <h1>
            {license.name ?? email ?? "Unnamed license"} <StatusChip license={license} testId="detail-status" />
          </h1>
          <p className="muted">
            {catalog.productName(license.productId)} · {catalog.policyName(license.policyId)}
          </p>
        </div>
        {canWrite && (
          <div className="page-actions" role="group" aria-label="License actions" ref={actionsBar}>
            <button
              type="button"
              className="button small"
              data-testid="action-edit"
              aria-expanded={editing}
              onClick={() => setEditing(!editing)}
            >
              Edit
            </button>
            {available.map((action) => (
              <button
                key={action}
                type="button"
                className={ACTIONS[action].danger ? "button small danger-text" : "button small"}
                data-testid={`action-${action}`}
                onClick={() => setPending(action)}
              >
                {ACTIONS[action].label}
              </button>
            ))}
          </div>
        )}
      </header>
      {act.error && (
        <div className="alert alert-error" role="alert" data-testid="action-error">
          {act.error.message}
        </div>
      )}
      {license.status === "active" && isExpired(license) && (
        <div className="alert alert-warn" role="note">
          This license expired {expiryWords(license.expiresAt)}. Renew it to extend it by its policy's duration.
        </div>
      )}

      {editing && (
        <EditLicense
          license={license}
          onCancel={() => setEditing(false)}
          onSaved={(next) => {
            load.setData(next);
            setEditing(false);
            refreshTimeline();
            toast({ message: "License saved." });
          }}
        />
      )}

      <div className="card lic-facts">
        <dl className="lic-dl">
          <dt>Key</dt>
          <dd className="copy-row">
            <textarea
              id="license-key-text"
              className="lic-key-box mono"
              readOnly
              rows={1}
              value={license.key}
              data-testid="detail-key"
              aria-label="License key"
            />
            <button
              type="button"
              className="button small"
              data-testid="copy-key"
              onClick={() =>
                void copyText(license.key, "license-key-text").then((ok) =>
                  toast(ok ? { message: "Key copied." } : { message: "Select the key and press Ctrl+C.", kind: "error" }),
                )
              }
            >
              Copy
            </button>
          </dd>
          <dt>Expires</dt>
          <dd>
            {license.expiresAt ? (
              <>
                {formatDateTime(license.expiresAt)} <span className="muted">({expiryWords(license.expiresAt)})</span>
              </>
            ) : (
              "Never (perpetual)"
            )}
          </dd>
          <dt>Uses</dt>
          <dd data-testid="detail-uses">
            {license.uses.toLocaleString("en-US")}
            {license.maxUses !== null && ` of ${license.maxUses.toLocaleString("en-US")} allowed`}
          </dd>
          <dt>Machines</dt>
          <dd data-testid="detail-machines-count">
            {license.machinesCount}
            {license.maxMachines !== null ? ` of ${license.maxMachines} seats in use` : " (no limit)"}
          </dd>
          {email && (
            <>
              <dt>E-mail</dt>
              <dd>{email}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{formatDateTime(license.createdAt)}</dd>
          <dt>Id</dt>
          <dd className="mono small">{license.id}</dd>
          {Object.entries(license.metadata ?? {})
            .filter(([name]) => name !== "email")
            .map(([name, value]) => (
              <FactRow key={name} name={name} value={value} />
            ))}
        </dl>
      </div>

      <div className="grid-2">
        <Entitlements license={license} onChange={(next) => {
          load.setData(next);
          refreshTimeline();
        }} />
        <Diagnose license={license} />
      </div>

      <Requires scope="machines:read" what="The machines on this license">
        <Machines
          license={license}
          onChanged={() => {
            load.reload();
            refreshTimeline();
          }}
        />
      </Requires>

      <Requires scope="events:read" what="This license's history">
        <Timeline licenseId={license.id} version={timelineVersion} />
      </Requires>

      {pending && (
        <ConfirmDialog
          title={`${ACTIONS[pending].label} this license?`}
          body={`${license.key}: ${ACTIONS[pending].explain}`}
          confirmLabel={ACTIONS[pending].label}
          busy={act.busy}
          onConfirm={() => void run(pending, true)}
          onCancel={() => setPending(null)}
          returnFocus={() =>
            actionsBar.current?.querySelector<HTMLElement>("[data-testid=action-reinstate], [data-testid=action-suspend]") ??
            actionsBar.current?.querySelector<HTMLElement>("button")
          }
        />
      )}
    </section>
  );
}

function FactRow(props: { name: string; value: unknown }) {
  const text = typeof props.value === "string" ? props.value : JSON.stringify(props.value);
  return (
    <>
      <dt>{props.name}</dt>
      <dd className="lic-meta">{text}</dd>
    </>
  );
}

function Entitlements(props: { license: License; onChange: (license: License) => void }) {
  const { license } = props;
  const canWrite = useScope("licenses:write");
  const canList = useScope("entitlements:read");
  const canPolicy = useScope("policies:read");
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [all, setAll] = useState<Entitlement[]>([]);
  const [choice, setChoice] = useState("");
  useEffect(() => {
    if (canPolicy) getPolicy(license.policyId).then(setPolicy, () => setPolicy(null));
  }, [license.policyId, canPolicy]);
  useEffect(() => {
    if (canList) listEntitlements({ limit: 100, sort: "code" }).then((p) => setAll(p.data), () => setAll([]));
  }, [canList]);
  const attach = useCommand(attachEntitlements);
  const detach = useCommand(detachEntitlement);
  const fromPolicy = new Set(policy?.entitlements ?? []);
  const addable = all.filter((e) => !license.entitlements.includes(e.code));
  const error = attach.error ?? detach.error;

  return (
    <div className="card" data-testid="entitlements-card">
      <div className="card-head">
        <h2>Entitlements</h2>
      </div>
      <p className="muted small">Features this license unlocks: its policy's, plus any granted here.</p>
      {license.entitlements.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul className="lic-ents">
          {license.entitlements.map((code) => (
            <li key={code} data-testid="entitlement">
              <code>{code}</code>
              {fromPolicy.has(code) ? (
                <span className="muted small">from the policy</span>
              ) : (
                canWrite && (
                  <button
                    type="button"
                    className="button small"
                    aria-label={`Detach ${code}`}
                    disabled={detach.busy}
                    onClick={() => void detach.run(license.id, code).then((next) => next && props.onChange(next))}
                  >
                    Detach
                  </button>
                )
              )}
            </li>
          ))}
        </ul>
      )}
      {canWrite && canList && all.length === 0 && (
        <p className="muted small">
          The account has no entitlements to grant yet: create them under <Link href="~/entitlements">Entitlements</Link>.
        </p>
      )}
      {canWrite && canList && all.length > 0 && (
        <div className="toolbar">
          <select aria-label="Entitlement to attach" value={choice} onChange={(e) => setChoice(e.target.value)}>
            <option value="">{addable.length ? "Choose an entitlement…" : "It has every entitlement already"}</option>
            {addable.map((e) => (
              <option key={e.id} value={e.code}>
                {e.name} ({e.code})
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button small"
            disabled={!choice || attach.busy}
            onClick={() =>
              void attach.run(license.id, [choice]).then((next) => {
                if (next) {
                  setChoice("");
                  props.onChange(next);
                }
              })
            }
          >
            Attach
          </button>
        </div>
      )}
      {error && (
        <div className="alert alert-error" role="alert">
          {error.message}
        </div>
      )}
    </div>
  );
}

const CHECK_NAMES: Record<string, string> = {
  status: "Status",
  expiry: "Expiry",
  uses: "Use limit",
  entitlements: "Entitlements",
  fingerprint: "Machine activated",
  heartbeat: "Heartbeat",
  machineLimit: "Machine limit",
};

function Diagnose(props: { license: License }) {
  const [fingerprint, setFingerprint] = useState("");
  const [diagnosis, setDiagnosis] = useState<Diagnosis | null>(null);
  const diagnose = useCommand(diagnoseLicense);
  const runChecks = async () => {
    const answer = await diagnose.run(props.license.id, {
      fingerprint: fingerprint.trim() || null,
      entitlements: null,
    });
    if (answer) setDiagnosis(answer);
  };
  return (
    <div className="card" data-testid="diagnose-card">
      <div className="card-head">
        <h2>Why is it failing?</h2>
      </div>
      <p className="muted small">
        Runs every check a validation makes, without counting a use. Add the customer's machine fingerprint to check
        that machine too.
      </p>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void runChecks();
        }}
      >
        <input
          type="text"
          aria-label="Machine fingerprint (optional)"
          placeholder="Fingerprint (optional)"
          data-testid="diagnose-fingerprint"
          value={fingerprint}
          onChange={(e) => setFingerprint(e.target.value)}
        />
        <button type="submit" className="button small primary" data-testid="diagnose-run" disabled={diagnose.busy}>
          {diagnose.busy ? "Checking…" : "Run checks"}
        </button>
      </form>
      {diagnose.error && (
        <div className="alert alert-error" role="alert">
          {diagnose.error.message}
        </div>
      )}
      {diagnosis && (
        <div data-testid="diagnosis">
          <p className={diagnosis.valid ? "verdict verdict-ok" : "verdict verdict-bad"} data-testid="diagnosis-verdict">
            {diagnosis.valid
              ? "It would validate: every check passes."
              : `It would fail with ${diagnosis.code}.`}
          </p>
          <ul className="checks">
            {diagnosis.checks.map((check) => (
              <li key={check.check} data-testid="diagnosis-check" data-passed={String(check.passed)}>
                <span
                  className={check.passed === null ? "mark mark-skip" : check.passed ? "mark mark-ok" : "mark mark-bad"}
                  aria-label={check.passed === null ? "not checked" : check.passed ? "passed" : "failed"}
                >
                  {check.passed === null ? "–" : check.passed ? "✓" : "✗"}
                </span>
                <span>
                  <strong>{CHECK_NAMES[check.check] ?? check.check}</strong>
                  {check.passed === false && <code className="small"> {check.code}</code>}
                  <br />
                  <span className="muted small">{humanTimes(check.detail, formatDateTime)}</span>
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function Machines(props: { license: License; onChanged: () => void }) {
  const { license } = props;
  const canWrite = useScope("machines:write");
  const load = useLoad(
    () => listMachines({ limit: 100, filters: { licenseId: license.id } }),
    `${license.id}:${license.machinesCount}`,
  );
  const remove = useCommand(deleteMachine);
  const toast = useToast();
  const [removing, setRemoving] = useState<Machine | null>(null);
  const machines = load.data?.data ?? [];
  const confirm = async () => {
    if (!removing) return;
    const target = removing;
    const done = await remove.run(target.id);
    setRemoving(null);
    if (done === undefined) return;
    toast({ message: `${target.name ?? "Machine"} deactivated: its seat is free.` });
    props.onChanged();
  };
  return (
    <div className="card" data-testid="machines-card">
      <div className="card-head">
        <h2>
          Machines{" "}
          <span className="muted small">
            {license.machinesCount}
            {license.maxMachines !== null ? ` of ${license.maxMachines} seats` : ""}
          </span>
        </h2>
      </div>
      {load.error && (
        <div className="alert alert-error" role="alert">
          {load.error.message}
        </div>
      )}
      {remove.error && (
        <div className="alert alert-error" role="alert" data-testid="deactivate-error">
          {remove.error.message}
        </div>
      )}
      {load.loading && !load.data ? (
        <Loading what="machines" />
      ) : machines.length === 0 ? (
        <p className="muted">No machine is activated on this license.</p>
      ) : (
        <table className="lic-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Fingerprint</th>
              <th scope="col">Platform</th>
              <th scope="col">Heartbeat</th>
              <th scope="col">Activated</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {machines.map((m) => (
              <tr key={m.id} data-testid="license-machine">
                <td>{m.name ?? <span className="muted">unnamed</span>}</td>
                <td className="mono small lic-fp" title={m.fingerprint}>
                  {m.fingerprint}
                </td>
                <td>{m.platform ? (PLATFORM_NAMES[m.platform] ?? m.platform) : "—"}</td>
                <td>
                  <HeartbeatChip machine={m} />
                </td>
                <td title={formatDateTime(m.createdAt)}>{relativeTo(m.createdAt)}</td>
                <td>
                  {canWrite && (
                    <button
                      type="button"
                      className="button small danger-text"
                      data-testid="deactivate-machine"
                      onClick={() => setRemoving(m)}
                    >
                      Deactivate
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {removing && (
        <ConfirmDialog
          title={`Deactivate ${removing.name ?? "this machine"}?`}
          body={`Frees its seat on the license at once. The app on that machine stops working until it is activated again (which takes a seat again). Fingerprint ${removing.fingerprint}.`}
          confirmLabel="Deactivate"
          busy={remove.busy}
          onConfirm={() => void confirm()}
          onCancel={() => setRemoving(null)}
        />
      )}
    </div>
  );
}

export function HeartbeatChip(props: { machine: Pick<Machine, "heartbeatStatus" | "lastHeartbeatAt"> }) {
  const { heartbeatStatus, lastHeartbeatAt } = props.machine;
  const title = lastHeartbeatAt
    ? `Last heartbeat ${relativeTo(lastHeartbeatAt)}`
    : "No heartbeat yet (its policy may not ask for heartbeats)";
  switch (heartbeatStatus) {
    case "ALIVE":
      return (
        <span className="chip chip-ok" title={title}>
          Alive
        </span>
      );
    case "DEAD":
      return (
        <span className="chip chip-bad" title={title}>
          Missed
        </span>
      );
    default:
      return (
        <span className="chip" title={title}>
          Not started
        </span>
      );
  }
}

const EVENT_WORDS: Record<string, string> = {
  "license.created": "Issued",
  "license.updated": "Edited",
  "license.suspended": "Suspended",
  "license.reinstated": "Reinstated",
  "license.revoked": "Revoked",
  "license.banned": "Banned",
  "license.renewed": "Renewed",
  "license.deleted": "Deleted",
  "license.entitlements.attached": "Entitlements attached",
  "license.entitlements.detached": "Entitlement detached",
};

function Timeline(props: { licenseId: string; version: number }) {
  const key = `${props.licenseId}:${props.version}`;
  const fetchEvents = useCallback(
    (after?: string) =>
      listEvents({ limit: 25, after, filters: { resourceType: "license", resourceId: props.licenseId } }),
    [props.licenseId],
  );
  const first = useLoad(() => fetchEvents(), key);
  // Older pages, for the first page they follow.
  const [older, setOlder] = useState<{ key: string; events: AuditEvent[]; hasMore: boolean } | null>(null);
  const mine = older?.key === key ? older : null;
  const events = [...(first.data?.data ?? []), ...(mine?.events ?? [])];
  const hasMore = mine ? mine.hasMore : (first.data?.hasMore ?? false);
  const more = useCommand(fetchEvents);
  const loadMore = async () => {
    const page = await more.run(events.at(-1)?.id);
    if (page) setOlder({ key, events: [...(mine?.events ?? []), ...page.data], hasMore: page.hasMore });
  };
  const error = first.error ?? more.error;
  return (
    <div className="card" data-testid="timeline-card">
      <div className="card-head">
        <h2>History</h2>
      </div>
      {error && (
        <div className="alert alert-error" role="alert">
          {error.message}
        </div>
      )}
      {first.loading && events.length === 0 ? (
        <Loading what="the history" />
      ) : events.length === 0 ? (
        <p className="muted">Nothing recorded yet.</p>
      ) : (
        <ol className="timeline">
          {events.map((event) => (
            <li key={event.id} data-testid="timeline-event">
              <span className="timeline-when" title={formatDateTime(event.occurredAt)}>
                {relativeTo(event.occurredAt)}
              </span>
              <span>
                <strong>{EVENT_WORDS[event.action] ?? event.action}</strong>{" "}
                <span className="muted small">
                  by {event.actorName ? `key “${event.actorName}”` : event.actorType.replace("_", " ")}
                  {event.clientAddress ? ` from ${event.clientAddress}` : ""}
                </span>
                {event.changes && <Changes changes={event.changes} />}
              </span>
            </li>
          ))}
        </ol>
      )}
      {hasMore && (
        <button type="button" className="button small" disabled={more.busy} onClick={() => void loadMore()}>
          {more.busy ? "Loading…" : "Show older"}
        </button>
      )}
    </div>
  );
}

function Changes(props: { changes: Record<string, unknown> }) {
  const parts = Object.entries(props.changes).map(([field, change]) => {
    if (change && typeof change === "object" && "before" in change && "after" in change) {
      const c = change as { before: unknown; after: unknown };
      return `${field}: ${show(c.before)} → ${show(c.after)}`;
    }
    return `${field}: ${show(change)}`;
  });
  return <span className="timeline-changes small">{parts.join(" · ")}</span>;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "string") return /^\d{4}-\d{2}-\d{2}T/.test(value) ? formatDateTime(value) : value;
  return JSON.stringify(value);
}
