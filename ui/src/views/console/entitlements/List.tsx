import { useMemo, useState } from "react";
import { listEntitlements } from "../../../api/console/entitlements";
import type { Entitlement } from "../../../bindings/Entitlement";
import { DataTable, sortParam, type Column, type Sort } from "../../../components/DataTable";
import { EmptyState } from "../../../components/EmptyState";
import { PageHeader, SearchBox, useDebounced, usePaged, When } from "../catalog";
import { useScope } from "../session";
import { EditEntitlement, NewEntitlementForm } from "./Form";

export function EntitlementList() {
  const [search, setSearch] = useState("");
  const q = useDebounced(search);
  const [sort, setSort] = useState<Sort | null>({ id: "code", desc: false });
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Entitlement | null>(null);
  const canWrite = useScope("entitlements:write");
  const list = usePaged(listEntitlements, { q, sort: sortParam(sort) });
  const columns = useMemo<Column<Entitlement>[]>(
    () => [
      { id: "code", header: "Code", sortKey: "code", width: "30%", cell: ({ row }) => <code>{row.original.code}</code> },
      { id: "name", header: "Name", sortKey: "name", cell: ({ row }) => row.original.name },
      { id: "createdAt", header: "Created", sortKey: "createdAt", width: "13rem", cell: ({ row }) => <When iso={row.original.createdAt} /> },
    ],
    [],
  );
  return (
    <section className="console-page" data-testid="entitlements-view">
      <PageHeader
        title="Entitlements"
        description="Features a license can carry, e.g. export_pdf. Your app checks for them by code; policies give them to all their licenses."
        actions={
          canWrite &&
          !creating && (
            <button type="button" className="button primary" data-testid="new-entitlement" onClick={() => setCreating(true)}>
              New entitlement
            </button>
          )
        }
      />
      {creating && (
        <NewEntitlementForm
          onDone={(created) => {
            setCreating(false);
            if (created) list.reload();
          }}
        />
      )}
      <div className="catalog-toolbar">
        <SearchBox value={search} onChange={setSearch} placeholder="Search entitlements by code or name" testId="entitlements-search" />
      </div>
      <DataTable
        id="entitlements"
        columns={columns}
        rows={list.rows}
        total={list.total}
        loading={list.loading}
        error={list.error}
        rowId={(e) => e.id}
        sort={sort}
        onSort={setSort}
        hasMore={list.hasMore}
        onLoadMore={list.loadMore}
        onOpen={canWrite ? setEditing : undefined}
        height={creating ? "calc(100vh - 33.5rem)" : "calc(100vh - 19.5rem)"}
        empty={
          q ? (
            <EmptyState title={`No entitlement matches “${q}”.`}>Clear the search to see them all.</EmptyState>
          ) : (
            <EmptyState title="No entitlements yet.">Create one for each feature your app unlocks by license.</EmptyState>
          )
        }
      />
      {editing && (
        <EditEntitlement
          entitlement={editing}
          onDone={(changed) => {
            setEditing(null);
            if (changed) list.reload();
          }}
        />
      )}
    </section>
  );
}
