import { useMemo, useState } from "react";
import { Link, useLocation } from "wouter";
import { listProducts } from "../../../api/console/products";
import type { Product } from "../../../bindings/Product";
import { DataTable, sortParam, type Column, type Sort } from "../../../components/DataTable";
import { EmptyState } from "../../../components/EmptyState";
import { PageHeader, SearchBox, useDebounced, usePaged, When } from "../catalog";
import { Requires } from "../session";

export function ProductList() {
  const [, navigate] = useLocation();
  const [search, setSearch] = useState("");
  const q = useDebounced(search);
  const [sort, setSort] = useState<Sort | null>({ id: "name", desc: false });
  const list = usePaged(listProducts, { q, sort: sortParam(sort) });
  const columns = useMemo<Column<Product>[]>(
    () => [
      { id: "name", header: "Name", sortKey: "name", width: "30%", cell: ({ row }) => <strong>{row.original.name}</strong> },
      {
        id: "keyPrefix",
        header: "Key prefix",
        width: "9rem",
        cell: ({ row }) => <code>{row.original.keyPrefix}</code>,
      },
      {
        id: "signingKey",
        header: "Signing key",
        width: "11rem",
        cell: ({ row }) => <code className="muted">{row.original.signingKey.keyId}</code>,
      },
      { id: "createdAt", header: "Created", sortKey: "createdAt", cell: ({ row }) => <When iso={row.original.createdAt} /> },
      {
        id: "updatedAt",
        header: "Last changed",
        sortKey: "updatedAt",
        hiddenByDefault: true,
        cell: ({ row }) => <When iso={row.original.updatedAt} />,
      },
    ],
    [],
  );
  return (
    <section className="console-page" data-testid="products-view">
      <PageHeader
        title="Products"
        description="What you sell licenses for. Each product has its own license-key prefix."
        actions={
          <Requires scope="products:write" what="Creating products" quiet>
            <Link href="/new" className="button primary" data-testid="new-product">
              New product
            </Link>
          </Requires>
        }
      />
      <div className="catalog-toolbar">
        <SearchBox value={search} onChange={setSearch} placeholder="Search products by name" testId="products-search" />
      </div>
      <DataTable
        id="products"
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
          q ? (
            <EmptyState title={`No product's name contains “${q}”.`}>Check the spelling, or clear the search.</EmptyState>
          ) : (
            <EmptyState title="No products yet.">Create one to start issuing licenses for it.</EmptyState>
          )
        }
      />
    </section>
  );
}
