// Machines across all licenses: search by fingerprint or name, filter by heartbeat and
// platform, open the license a machine is on, deactivate one (its seat is freed), and
// export what the filters match as CSV.
import { useCallback, useMemo, useState } from "react";
import { Link } from "wouter";
import { deleteMachine, exportMachinesCsv, listMachines } from "../../../api/console/machines";
import type { ListQuery } from "../../../bindings/ListQuery";
import type { Machine } from "../../../bindings/Machine";
import type { SavedExport } from "../../../bindings/SavedExport";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { DataTable, sortParam, type Column, type Sort } from "../../../components/DataTable";
import { EmptyState } from "../../../components/EmptyState";
import { useToast } from "../../../components/Toasts";
import { useCommand } from "../../../hooks/useCommand";
import { formatDateTime, relativeTo } from "../../../lib/time";
import { useScope } from "../session";
import { HeartbeatChip } from "../licenses/Detail";
import { PLATFORM_NAMES } from "../licenses/helpers";
import { useDebounced, usePagedList } from "../licenses/usePagedList";

const PLATFORMS = ["windows", "macos", "linux", "docker", "kubernetes"] as const;

type Filters = { q: string; heartbeatStatus: string; platform: string };

function machineQuery(filters: Filters, sort: string | undefined, after?: string): ListQuery {
  const query: ListQuery = {
    limit: 100,
    filters: { heartbeatStatus: filters.heartbeatStatus, platform: filters.platform },
  };
  if (filters.q.trim()) query.q = filters.q.trim();
  if (sort) query.sort = sort;
  if (after) query.after = after;
  return query;
}

export function MachineList() {
  const toast = useToast();
  const canWrite = useScope("machines:write");
  const canLicenses = useScope("licenses:read");
  const [filters, setFilters] = useState<Filters>({ q: "", heartbeatStatus: "", platform: "" });
  const [sort, setSort] = useState<Sort | null>({ id: "createdAt", desc: true });
  const q = useDebounced(filters.q, 250);
  const settled = useMemo(() => ({ ...filters, q }), [filters, q]);
  const fetchPage = useCallback(
    (after?: string) => listMachines(machineQuery(settled, sortParam(sort), after)),
    [settled, sort],
  );
  const list = usePagedList(fetchPage, JSON.stringify([settled, sort]), "machines-list");
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const filtered = Object.values(filters).some((v) => v.trim());

  const [removing, setRemoving] = useState<Machine | null>(null);
  const remove = useCommand(deleteMachine);
  const confirm = async () => {
    if (!removing) return;
    const target = removing;
    const done = await remove.run(target.id);
    setRemoving(null);
    if (done === undefined) return;
    toast({ message: `${target.name ?? "Machine"} deactivated: its seat on the license is free.` });
    list.reload();
  };

  const [saved, setSaved] = useState<SavedExport | null>(null);
  const exporter = useCommand(exportMachinesCsv);
  const runExport = async () => {
    setSaved(null);
    const query = machineQuery(settled, sortParam(sort));
    delete query.limit;
    const answer = await exporter.run(query);
    if (answer) setSaved(answer);
  };

  const columns = useMemo<Column<Machine>[]>(
    () => [
      {
        id: "name",
        header: "Name",
        sortKey: "name",
        cell: ({ row }) => row.original.name ?? <span className="muted">unnamed</span>,
      },
      {
        id: "fingerprint",
        header: "Fingerprint",
        width: "9.5rem",
        cell: ({ row }) => (
          <code className="lic-key" title={row.original.fingerprint}>
            {row.original.fingerprint}
          </code>
        ),
      },
      {
        id: "platform",
        header: "Platform",
        width: "6rem",
        cell: ({ row }) => (row.original.platform ? PLATFORM_NAMES[row.original.platform] : "—"),
      },
      {
        id: "heartbeat",
        header: "Heartbeat",
        sortKey: "lastHeartbeatAt",
        width: "6.5rem",
        cell: ({ row }) => <HeartbeatChip machine={row.original} />,
      },
      {
        id: "license",
        header: "License",
        width: "5rem",
        cell: ({ row }) =>
          canLicenses ? (
            <Link
              href={`~/licenses/${row.original.licenseId}`}
              data-testid="machine-license-link"
              aria-label="Open the license this machine is on"
              onClick={(e) => e.stopPropagation()}
            >
              Open
            </Link>
          ) : (
            <span className="mono small">{row.original.licenseId.slice(0, 8)}…</span>
          ),
      },
      {
        id: "createdAt",
        header: "Activated",
        sortKey: "createdAt",
        width: "7rem",
        hiddenByDefault: true,
        cell: ({ row }) => <span title={formatDateTime(row.original.createdAt)}>{relativeTo(row.original.createdAt)}</span>,
      },
      {
        id: "actions",
        header: "Actions",
        width: "8.5rem",
        cell: ({ row }) =>
          canWrite ? (
            <button
              type="button"
              className="button small danger-text"
              data-testid="machine-deactivate"
              onClick={(e) => {
                e.stopPropagation();
                setRemoving(row.original);
              }}
            >
              Deactivate
            </button>
          ) : null,
      },
    ],
    [canWrite, canLicenses],
  );

  return (
    <section className="console-page machines-page">
      <header className="page-header">
        <div>
          <h1>Machines</h1>
          <p className="muted">Every computer activated on any license. Deactivating one frees its seat.</p>
        </div>
        <div className="page-actions">
          <button
            type="button"
            className="button small"
            data-testid="machines-export"
            disabled={exporter.busy}
            onClick={() => void runExport()}
          >
            {exporter.busy ? "Exporting…" : "Export CSV"}
          </button>
        </div>
      </header>
      {!canWrite && (
        <p className="scope-note" data-testid="scope-note">
          Deactivating is hidden: this connection's API key lacks the <code>machines:write</code> scope.
        </p>
      )}
      {exporter.error && (
        <div className="alert alert-error" role="alert">
          {exporter.error.message}
        </div>
      )}
      {saved && (
        <div className="alert alert-ok lic-saved" role="status" data-testid="machines-export-saved">
          <span>
            Exported {saved.rows.toLocaleString("en-US")} {saved.rows === 1 ? "machine" : "machines"} to{" "}
            <code>{saved.path}</code>
          </span>
          <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => setSaved(null)}>
            ×
          </button>
        </div>
      )}
      {remove.error && (
        <div className="alert alert-error" role="alert" data-testid="machine-deactivate-error">
          {remove.error.message}
        </div>
      )}
      <div className="toolbar lic-filters" role="search">
        <input
          type="search"
          aria-label="Search machines"
          placeholder="Search fingerprint (its start) or name…"
          data-testid="machine-search"
          value={filters.q}
          onChange={(e) => set({ q: e.target.value })}
        />
        <select
          aria-label="Heartbeat"
          data-testid="filter-heartbeat"
          value={filters.heartbeatStatus}
          onChange={(e) => set({ heartbeatStatus: e.target.value })}
        >
          <option value="">Any heartbeat</option>
          <option value="ALIVE">Alive</option>
          <option value="DEAD">Missed (dead)</option>
          <option value="NOT_STARTED">Not started</option>
        </select>
        <select
          aria-label="Platform"
          data-testid="filter-platform"
          value={filters.platform}
          onChange={(e) => set({ platform: e.target.value })}
        >
          <option value="">Any platform</option>
          {PLATFORMS.map((p) => (
            <option key={p} value={p}>
              {PLATFORM_NAMES[p]}
            </option>
          ))}
        </select>
        {filtered && (
          <button
            type="button"
            className="button small"
            data-testid="machines-clear-filters"
            onClick={() => setFilters({ q: "", heartbeatStatus: "", platform: "" })}
          >
            Clear
          </button>
        )}
      </div>
      <DataTable
        id="machines"
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
        height="calc(100vh - 16rem)"
        empty={
          filtered ? (
            <EmptyState title="No machine matches">
              A fingerprint matches from its first characters; a name matches any part. Or clear the filters.
            </EmptyState>
          ) : (
            <EmptyState title="No machines yet">
              Machines appear here when your app activates a license on them.
            </EmptyState>
          )
        }
      />
      {removing && (
        <ConfirmDialog
          title={`Deactivate ${removing.name ?? "this machine"}?`}
          body={`Frees its seat on the license at once. The app on that machine stops working until it is activated again. Fingerprint ${removing.fingerprint}.`}
          confirmLabel="Deactivate"
          busy={remove.busy}
          onConfirm={() => void confirm()}
          onCancel={() => setRemoving(null)}
        />
      )}
    </section>
  );
}
