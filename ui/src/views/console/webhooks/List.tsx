import { useMemo, useState } from "react";
import { Link, useLocation } from "wouter";
import { listWebhooks } from "../../../api/console/webhooks";
import type { Webhook } from "../../../bindings/Webhook";
import { DataTable, sortParam, type Column, type Sort } from "../../../components/DataTable";
import { EmptyState } from "../../../components/EmptyState";
import { PageHeader, usePaged, When } from "../catalog";
import { Requires } from "../session";
import { eventsText } from "./events";

export function WebhookStatus(props: { webhook: Webhook }) {
  const { webhook } = props;
  if (webhook.enabled) return <span className="status-dot status-ok">Enabled</span>;
  if (webhook.disabledReason) return <span className="status-dot status-bad">Disabled by the server</span>;
  return <span className="status-dot status-muted">Disabled</span>;
}

export function WebhookList() {
  const [, navigate] = useLocation();
  const [sort, setSort] = useState<Sort | null>({ id: "createdAt", desc: true });
  const list = usePaged(listWebhooks, { sort: sortParam(sort) });
  const columns = useMemo<Column<Webhook>[]>(
    () => [
      {
        id: "url",
        header: "Endpoint",
        sortKey: "url",
        width: "36%",
        cell: ({ row }) => (
          <span title={row.original.url}>
            <code className="mono-cell">{row.original.url}</code>
            {row.original.description && <span className="muted small"> · {row.original.description}</span>}
          </span>
        ),
      },
      { id: "events", header: "Events", cell: ({ row }) => <span title={eventsText(row.original.events)}>{eventsText(row.original.events)}</span> },
      { id: "status", header: "Status", width: "12rem", cell: ({ row }) => <WebhookStatus webhook={row.original} /> },
      { id: "createdAt", header: "Created", sortKey: "createdAt", width: "12rem", cell: ({ row }) => <When iso={row.original.createdAt} /> },
    ],
    [],
  );
  return (
    <section className="console-page" data-testid="webhooks-view">
      <PageHeader
        title="Webhooks"
        description="Your servers hear about licenses and machines as it happens: each event is POSTed, signed, and retried until your endpoint answers 2xx."
        actions={
          <Requires scope="webhooks:write" what="Adding webhooks" quiet>
            <Link href="/new" className="button primary" data-testid="new-webhook">
              Add endpoint
            </Link>
          </Requires>
        }
      />
      <DataTable
        id="webhooks"
        columns={columns}
        rows={list.rows}
        total={list.total}
        loading={list.loading}
        error={list.error}
        rowId={(w) => w.id}
        sort={sort}
        onSort={setSort}
        hasMore={list.hasMore}
        onLoadMore={list.loadMore}
        onOpen={(w) => navigate(`/${w.id}`)}
        height="calc(100vh - 16rem)"
        empty={<EmptyState title="No webhook endpoints yet.">Add one to hear about new licenses, suspensions and activations.</EmptyState>}
      />
    </section>
  );
}
