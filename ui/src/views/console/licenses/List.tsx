// The licenses list: search (key fragment, id, name or a metadata value such as the
// customer's e-mail), filters, server-side sort and cursor paging, bulk actions on the
// selected rows with a result per row, and CSV export of what the filters match.
import { useCallback, useMemo, useState } from "react";
import { Link, useLocation } from "wouter";
import { actOnLicenses, exportLicensesCsv, listLicenses } from "../../../api/console/licenses";
import type { ActionResults } from "../../../bindings/ActionResults";
import type { License } from "../../../bindings/License";
import type { LicenseAction } from "../../../bindings/LicenseAction";
import type { SavedExport } from "../../../bindings/SavedExport";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { DataTable, sortParam, type Column, type Sort } from "../../../components/DataTable";
import { EmptyState } from "../../../components/EmptyState";
import { useCommand } from "../../../hooks/useCommand";
import { useScope } from "../session";
import { useCatalog } from "./catalog";
import {
  ACTIONS,
  customerEmail,
  expiryRange,
  expiryWords,
  type ExpiryMode,
  hasFilters,
  licenseQuery,
  NO_FILTERS,
  resultsSummary,
  shortDate,
  standing,
  STATUSES,
  toDateInput,
  type LicenseFilters,
} from "./helpers";
import { useDebounced, usePagedList } from "./usePagedList";

const BULK: LicenseAction[] = ["suspend", "reinstate", "renew", "revoke", "delete"];
/** Two lines (the customer's name and e-mail) and the cell's padding, in px. */
const LICENSE_ROW_HEIGHT = 53;
/** The server acts on up to this many licenses per request. */
const MAX_BULK = 1000;

export function LicenseList(props: { initial: LicenseFilters }) {
  const [, navigate] = useLocation();
  const canWrite = useScope("licenses:write");
  const catalog = useCatalog();
  const [filters, setFilters] = useState<LicenseFilters>(props.initial);
  const [sort, setSort] = useState<Sort | null>({ id: "createdAt", desc: true });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  // The search waits for typing to settle; the other filters apply at once.
  const q = useDebounced(filters.q, 250);
  const settled = useMemo(() => ({ ...filters, q }), [filters, q]);
  const key = JSON.stringify([settled, sort]);
  const fetchPage = useCallback(
    (after?: string) => listLicenses(licenseQuery(settled, sortParam(sort), after)),
    [settled, sort],
  );
  const list = usePagedList(fetchPage, key, "licenses-list");

  const set = (patch: Partial<LicenseFilters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setSelected(new Set());
  };
  // Expiry: the renewals a vendor asks about most, or any two dates.
  const [expiryMode, setExpiryMode] = useState<ExpiryMode>(
    props.initial.expiresAfter || props.initial.expiresBefore ? "custom" : "",
  );
  const chooseExpiry = (mode: ExpiryMode) => {
    setExpiryMode(mode);
    if (mode !== "custom") set(expiryRange(mode, new Date()));
  };

  const policies = catalog.policies.filter((p) => !filters.productId || p.productId === filters.productId);

  const columns = useMemo<Column<License>[]>(
    () => [
      {
        id: "key",
        header: "Key",
        width: "13rem",
        cell: ({ row }) => <code className="lic-key">{row.original.key}</code>,
      },
      {
        id: "name",
        header: "Customer",
        sortKey: "name",
        cell: ({ row }) => <CustomerCell license={row.original} />,
      },
      {
        id: "status",
        header: "Status",
        sortKey: "status",
        width: "6.5rem",
        cell: ({ row }) => <StatusChip license={row.original} />,
      },
      // One product: the column would say the same on every row.
      ...(catalog.products.length > 1
        ? [
            {
              id: "product",
              header: "Product",
              width: "8rem",
              cell: ({ row }) => catalog.productName(row.original.productId),
            } satisfies Column<License>,
          ]
        : []),
      {
        id: "policy",
        header: "Policy",
        width: "9rem",
        hiddenByDefault: true,
        cell: ({ row }) => catalog.policyName(row.original.policyId),
      },
      {
        id: "expiresAt",
        header: "Expires",
        sortKey: "expiresAt",
        width: "7.5rem",
        cell: ({ row }) => (
          <span title={row.original.expiresAt ? expiryWords(row.original.expiresAt) : "Never expires"}>
            {row.original.expiresAt ? shortDate(row.original.expiresAt) : "Never"}
          </span>
        ),
      },
      {
        id: "uses",
        header: "Uses",
        sortKey: "uses",
        width: "5rem",
        hiddenByDefault: true,
        cell: ({ row }) =>
          row.original.maxUses === null ? row.original.uses : `${row.original.uses} / ${row.original.maxUses}`,
      },
      {
        id: "machines",
        header: "Machines",
        width: "6.5rem",
        cell: ({ row }) =>
          row.original.maxMachines === null
            ? row.original.machinesCount
            : `${row.original.machinesCount} / ${row.original.maxMachines}`,
      },
      {
        id: "createdAt",
        header: "Created",
        sortKey: "createdAt",
        width: "8rem",
        hiddenByDefault: true,
        cell: ({ row }) => shortDate(row.original.createdAt),
      },
    ],
    [catalog],
  );

  // Bulk actions
  const [pending, setPending] = useState<LicenseAction | null>(null);
  const [outcome, setOutcome] = useState<{ action: LicenseAction; results: ActionResults; keys: Map<string, string> } | null>(
    null,
  );
  const bulk = useCommand(actOnLicenses);
  const confirmBulk = async () => {
    if (!pending) return;
    const ids = [...selected];
    const keys = new Map(list.rows.filter((r) => selected.has(r.id)).map((r) => [r.id, r.key]));
    const results = await bulk.run(pending, ids);
    const action = pending;
    setPending(null);
    if (!results) return;
    setOutcome({ action, results, keys });
    // Keep the ones that failed selected, so the vendor can see and retry them.
    setSelected(new Set(results.results.filter((r) => r.result !== "ok").map((r) => r.id)));
    list.reload();
  };

  // Export
  const [exportOpen, setExportOpen] = useState(false);
  const [includeKeys, setIncludeKeys] = useState(false);
  const [saved, setSaved] = useState<SavedExport | null>(null);
  const exporter = useCommand(exportLicensesCsv);
  const runExport = async () => {
    setSaved(null);
    const query = licenseQuery(settled, sortParam(sort));
    delete query.limit;
    const answer = await exporter.run({ query, includeKeys: canWrite && includeKeys });
    if (answer) {
      setSaved(answer);
      setExportOpen(false);
    }
  };

  const filtered = hasFilters(filters);
  return (
    <section className="console-page licenses-page">
      <header className="page-header">
        <div>
          <h1>Licenses</h1>
          <p className="muted">Find a customer's license by key, e-mail or name; open it to act on it.</p>
        </div>
        <div className="page-actions">
          <button
            type="button"
            className="button small"
            data-testid="export-open"
            aria-expanded={exportOpen}
            onClick={() => setExportOpen(!exportOpen)}
          >
            Export CSV
          </button>
          {canWrite && (
            <>
              <Link href="/import" className="button small" data-testid="import-link">
                Import CSV
              </Link>
              <Link href="/issue" className="button primary small" data-testid="issue-link">
                Issue licenses
              </Link>
            </>
          )}
        </div>
      </header>
      {!canWrite && (
        <p className="scope-note" data-testid="scope-note">
          Issuing, importing and changing licenses is hidden: this connection's API key lacks the{" "}
          <code>licenses:write</code> scope.
        </p>
      )}

      {exportOpen && (
        <div className="card lic-panel" data-testid="export-panel">
          <p>
            Exports the {list.total === null ? "" : `${list.total.toLocaleString("en-US")} `}licenses the search and
            filters below match (all pages, not only those loaded) as a CSV file, usually in your Downloads folder; the
            file's place is shown when it is saved.
          </p>
          {canWrite ? (
            <label className="check">
              <input
                type="checkbox"
                data-testid="export-include-keys"
                checked={includeKeys}
                onChange={(e) => setIncludeKeys(e.target.checked)}
              />
              <span className="lic-check-text">
                <span>Include the license keys</span>
                <span className="field-help">Anyone with the file can use the keys: keep it private.</span>
              </span>
            </label>
          ) : (
            <p className="muted small">Keys are left out: exporting them needs the licenses:write scope.</p>
          )}
          {exporter.error && (
            <div className="alert alert-error" role="alert">
              {exporter.error.message}
            </div>
          )}
          <div className="form-actions">
            <button type="button" className="button small" onClick={() => setExportOpen(false)}>
              Cancel
            </button>
            <button
              type="button"
              className="button primary small"
              data-testid="export-run"
              disabled={exporter.busy}
              onClick={() => void runExport()}
            >
              {exporter.busy ? "Exporting…" : "Export"}
            </button>
          </div>
        </div>
      )}
      {saved && (
        <div className="alert alert-ok lic-saved" role="status" data-testid="export-saved">
          <span>
            Exported {saved.rows.toLocaleString("en-US")} {saved.rows === 1 ? "license" : "licenses"} to{" "}
            <code>{saved.path}</code>
          </span>
          <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => setSaved(null)}>
            ×
          </button>
        </div>
      )}

      <div className="toolbar lic-filters" role="search">
        <input
          type="search"
          aria-label="Search licenses"
          placeholder="Search key, e-mail, name or id…"
          data-testid="license-search"
          value={filters.q}
          onChange={(e) => set({ q: e.target.value })}
        />
        <select
          aria-label="Status"
          data-testid="filter-status"
          value={filters.status}
          onChange={(e) => set({ status: e.target.value })}
        >
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.charAt(0).toUpperCase() + s.slice(1)}
            </option>
          ))}
        </select>
        <select
          aria-label="Product"
          data-testid="filter-product"
          value={filters.productId}
          onChange={(e) => set({ productId: e.target.value, policyId: "" })}
        >
          <option value="">Any product</option>
          {catalog.products.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <select
          aria-label="Policy"
          data-testid="filter-policy"
          value={filters.policyId}
          onChange={(e) => set({ policyId: e.target.value })}
        >
          <option value="">Any policy</option>
          {policies.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <select
          aria-label="Expiry"
          data-testid="filter-expiry"
          value={expiryMode}
          onChange={(e) => chooseExpiry(e.target.value as ExpiryMode)}
        >
          <option value="">Any expiry</option>
          <option value="30">Expiring within 30 days</option>
          <option value="90">Expiring within 90 days</option>
          <option value="expired">Already expired</option>
          <option value="custom">Expiring between dates…</option>
        </select>
        {expiryMode === "custom" && (
          <span className="lic-dates" role="group" aria-label="Expiry between">
            <label className="lic-date">
              after
              <input
                type="date"
                data-testid="filter-expires-after"
                value={toDateInput(filters.expiresAfter)}
                onChange={(e) => set({ expiresAfter: e.target.value })}
              />
            </label>
            <label className="lic-date">
              and before
              <input
                type="date"
                data-testid="filter-expires-before"
                value={toDateInput(filters.expiresBefore)}
                onChange={(e) => set({ expiresBefore: e.target.value })}
              />
            </label>
          </span>
        )}
        {filtered && (
          <button
            type="button"
            className="button small"
            data-testid="clear-filters"
            onClick={() => {
              setExpiryMode("");
              set(NO_FILTERS);
            }}
          >
            Clear
          </button>
        )}
      </div>

      {selected.size > 0 && canWrite && (
        <div className="bulk-bar" role="toolbar" aria-label="Actions on selected licenses" data-testid="bulk-bar">
          <strong>
            {selected.size} selected
          </strong>
          {selected.size > MAX_BULK && (
            <span className="small">Act on at most {MAX_BULK.toLocaleString("en-US")} at a time: narrow the selection.</span>
          )}
          {BULK.map((action) => (
            <button
              key={action}
              type="button"
              className={ACTIONS[action].danger ? "button small danger-text" : "button small"}
              data-testid={`bulk-${action}`}
              disabled={selected.size > MAX_BULK}
              onClick={() => setPending(action)}
            >
              {ACTIONS[action].label}
            </button>
          ))}
          <button type="button" className="button small lic-clear" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      )}
      {bulk.error && (
        <div className="alert alert-error" role="alert" data-testid="bulk-error">
          {bulk.error.message}
        </div>
      )}
      {outcome && <BulkOutcome outcome={outcome} onClose={() => setOutcome(null)} />}

      <DataTable
        id="licenses"
        columns={columns}
        rows={list.rows}
        total={list.total}
        loading={list.loading}
        error={list.error}
        rowId={(row) => row.id}
        sort={sort}
        onSort={setSort}
        hasMore={list.hasMore}
        onLoadMore={list.loadMore}
        selected={canWrite ? selected : undefined}
        onSelect={canWrite ? setSelected : undefined}
        onOpen={(row) => navigate(`/${row.id}`)}
        height="calc(100vh - 19rem)"
        rowHeight={LICENSE_ROW_HEIGHT}
        empty={
          filtered ? (
            <EmptyState title="No license matches">
              Check the spelling, search a shorter part of the key, or clear the filters.
            </EmptyState>
          ) : (
            <EmptyState
              title="No licenses yet"
              action={
                canWrite ? (
                  <Link href="/issue" className="button primary small">
                    Issue the first license
                  </Link>
                ) : undefined
              }
            >
              Licenses you issue or import appear here.
            </EmptyState>
          )
        }
      />

      {pending && (
        <ConfirmDialog
          title={`${ACTIONS[pending].label} ${selected.size} ${selected.size === 1 ? "license" : "licenses"}?`}
          body={ACTIONS[pending].explain}
          confirmLabel={`${ACTIONS[pending].label} ${selected.size}`}
          busy={bulk.busy}
          onConfirm={() => void confirmBulk()}
          onCancel={() => setPending(null)}
        />
      )}
    </section>
  );
}

function BulkOutcome(props: {
  outcome: { action: LicenseAction; results: ActionResults; keys: Map<string, string> };
  onClose: () => void;
}) {
  const { action, results, keys } = props.outcome;
  const failures = results.results.filter((r) => r.result !== "ok");
  return (
    <div
      className={failures.length ? "alert alert-warn bulk-outcome" : "alert alert-ok bulk-outcome"}
      role="status"
      data-testid="bulk-outcome"
    >
      <div className="bulk-outcome-head">
        <strong data-testid="bulk-summary">{resultsSummary(action, results)}</strong>
        <button type="button" className="toast-close" aria-label="Dismiss" onClick={props.onClose}>
          ×
        </button>
      </div>
      {failures.length > 0 && (
        <>
          <p className="small">The failed licenses stay selected.</p>
          <ul className="bulk-failures" data-testid="bulk-failures">
            {failures.map((f) => (
              <li key={f.id} data-testid="bulk-failure">
                <code>{keys.get(f.id) ?? f.id}</code> — {f.message ?? f.result}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function CustomerCell(props: { license: License }) {
  const email = customerEmail(props.license);
  const name = props.license.name;
  if (!name && !email) return <span className="muted">—</span>;
  return (
    <span className="lic-customer">
      {name && <span>{name}</span>}
      {email && <span className="muted small">{email}</span>}
    </span>
  );
}

export function StatusChip(props: { license: Pick<License, "status" | "expiresAt">; testId?: string }) {
  const { label, tone } = standing(props.license);
  return (
    <span className={`chip chip-${tone}`} data-testid={props.testId ?? "license-status"}>
      {label}
    </span>
  );
}
