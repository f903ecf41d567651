import { useMemo, useState } from "react";
import { Link, useLocation } from "wouter";
import { listPolicies } from "../../../api/console/policies";
import { listProducts } from "../../../api/console/products";
import type { Policy } from "../../../bindings/Policy";
import { DataTable, sortParam, type Column, type Sort } from "../../../components/DataTable";
import { EmptyState } from "../../../components/EmptyState";
import { useLoad } from "../../../hooks/useCommand";
import { PageHeader, SearchBox, useDebounced, usePaged, When } from "../catalog";
import { Requires } from "../session";
import { durationText } from "./rules";

export function PolicyList() {
  const [, navigate] = useLocation();
  const [search, setSearch] = useState("");
  const q = useDebounced(search);
  const [productId, setProductId] = useState("");
  const [sort, setSort] = useState<Sort | null>({ id: "name", desc: false });
  const products = useLoad(() => listProducts({ limit: 100, sort: "name" }), "products");
  const productName = useMemo(
    () => new Map((products.data?.data ?? []).map((p) => [p.id, p.name])),
    [products.data],
  );
  const list = usePaged(listPolicies, { q, sort: sortParam(sort), filters: { productId } });
  const columns = useMemo<Column<Policy>[]>(
    () => [
      { id: "name", header: "Name", sortKey: "name", width: "22%", cell: ({ row }) => <strong>{row.original.name}</strong> },
      {
        id: "product",
        header: "Product",
        cell: ({ row }) => productName.get(row.original.productId) ?? <code className="muted">{row.original.productId}</code>,
      },
      {
        id: "machines",
        header: "Machines",
        cell: ({ row }) =>
          row.original.floating ? `Floating, up to ${row.original.maxMachines ?? "unlimited"}` : "Node-locked (1)",
      },
      { id: "duration", header: "Duration", cell: ({ row }) => durationText(row.original.duration) },
      {
        id: "heartbeat",
        header: "Heartbeat",
        hiddenByDefault: true,
        cell: ({ row }) => (row.original.requireHeartbeat ? `every ${Math.round(row.original.heartbeatInterval / 60)} min` : "not required"),
      },
      { id: "createdAt", header: "Created", sortKey: "createdAt", hiddenByDefault: true, cell: ({ row }) => <When iso={row.original.createdAt} /> },
    ],
    [productName],
  );
  return (
    <section className="console-page" data-testid="policies-view">
      <PageHeader
        title="Policies"
        description="The rules a license follows: how many machines, for how long, how often it must check in."
        actions={
          <Requires scope="policies:write" what="Creating policies" quiet>
            <Link href="/new" className="button primary" data-testid="new-policy">
              New policy
            </Link>
          </Requires>
        }
      />
      <div className="catalog-toolbar">
        <SearchBox value={search} onChange={setSearch} placeholder="Search policies by name" testId="policies-search" />
        <select value={productId} onChange={(e) => setProductId(e.target.value)} aria-label="Product" data-testid="policies-product">
          <option value="">All products</option>
          {products.data?.data.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <DataTable
        id="policies"
        columns={columns}
        rows={list.rows}
        total={list.total}
        loading={list.loading}
        error={list.error}
        rowId={(p) => p.id}
        sort={sort}
        onSort={setSort}
        hasMore={list.hasMore}
        onLoadMore={list.loadMore}
        onOpen={(p) => navigate(`/${p.id}`)}
        height="calc(100vh - 19.5rem)"
        empty={
          q || productId ? (
            <EmptyState title="No policy matches.">Clear the search or choose another product.</EmptyState>
          ) : (
            <EmptyState title="No policies yet.">A policy holds the rules of a product's licenses; create one before issuing licenses.</EmptyState>
          )
        }
      />
    </section>
  );
}
