import { useMemo, useState } from "react";
import { listApiKeys, revokeApiKey, rotateApiKey } from "../../../api/console/apiKeys";
import type { ApiKey } from "../../../bindings/ApiKey";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { DataTable, sortParam, type Column, type Sort } from "../../../components/DataTable";
import { EmptyState } from "../../../components/EmptyState";
import { useToast } from "../../../components/Toasts";
import { useCommand } from "../../../hooks/useCommand";
import { PageHeader, SecretOnce, usePaged, When } from "../catalog";
import { useSession } from "../session";
import { NewApiKeyForm } from "./Form";

/** A key shown once: only its name and the secret, never kept past its dismissal. */
type Shown = { title: string; secret: string };

export function ApiKeyList() {
  const session = useSession();
  const toast = useToast();
  const [sort, setSort] = useState<Sort | null>({ id: "createdAt", desc: true });
  const list = usePaged(listApiKeys, { sort: sortParam(sort) });
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<Shown | null>(null);
  const [acting, setActing] = useState<{ key: ApiKey; action: "rotate" | "revoke" } | null>(null);
  const rotate = useCommand(rotateApiKey);
  const revoke = useCommand(revokeApiKey);
  const own = session.key.id;

  const columns = useMemo<Column<ApiKey>[]>(
    () => [
      {
        id: "name",
        header: "Name",
        sortKey: "name",
        width: "24%",
        cell: ({ row }) => (
          <span className="wrap-cell">
            <strong>{row.original.name}</strong>
            {row.original.id === own && <span className="muted small"> (this console)</span>}
            <span className="muted small" style={{ display: "block" }}>
              created <When iso={row.original.createdAt} relative />
            </span>
          </span>
        ),
      },
      {
        id: "prefix",
        header: "Key",
        width: "9rem",
        cell: ({ row }) => (
          <code className="mono-cell" data-testid="api-key-prefix">
            {row.original.displayPrefix}…
          </code>
        ),
      },
      {
        id: "scopes",
        header: "Scopes",

        cell: ({ row }) => (
          <span className="wrap-cell" title={row.original.scopes.join(", ")} data-testid="api-key-scopes">
            {row.original.scopes.length === 14 ? "all scopes" : row.original.scopes.join(", ")}
          </span>
        ),
      },
      {
        id: "createdAt",
        header: "Created",
        sortKey: "createdAt",
        hiddenByDefault: true,
        width: "7rem",
        cell: ({ row }) => <When iso={row.original.createdAt} relative />,
      },
      {
        id: "lastUsedAt",
        header: "Last used",
        sortKey: "lastUsedAt",
        width: "7rem",
        cell: ({ row }) => <When iso={row.original.lastUsedAt} empty="never" relative />,
      },
      {
        id: "actions",
        header: "Actions",
        width: "12rem",
        cell: ({ row }) =>
          row.original.id === own ? (
            <span className="muted small" title="Rotating or revoking the key this console uses would disconnect it. Do it from another key.">
              in use here
            </span>
          ) : (
            <span className="row-actions nowrap">
              <button type="button" className="button small" data-testid="rotate-api-key" onClick={() => setActing({ key: row.original, action: "rotate" })}>
                Rotate
              </button>
              <button
                type="button"
                className="button small danger-text"
                data-testid="revoke-api-key"
                onClick={() => setActing({ key: row.original, action: "revoke" })}
              >
                Revoke
              </button>
            </span>
          ),
      },
    ],
    [own],
  );

  const error = rotate.error ?? revoke.error;
  return (
    <section className="console-page" data-testid="api-keys-view">
      <PageHeader
        title="API keys"
        description={`Keys for your servers and scripts in the ${session.key.environment} environment. Give each only the scopes it needs.`}
        actions={
          !creating &&
          !shown && (
            <button type="button" className="button primary" data-testid="new-api-key" onClick={() => setCreating(true)}>
              New API key
            </button>
          )
        }
      />
      {shown && (
        <SecretOnce
          title={shown.title}
          secret={shown.secret}
          why="Licentric keeps only a hash of the key. If it is lost, rotate the key to get a new one."
          onDismiss={() => {
            setShown(null);
            list.reload();
          }}
        />
      )}
      {creating && (
        <NewApiKeyForm
          onCancel={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setShown({ title: `New API key “${key.name}”`, secret: key.key ?? "" });
            list.reload();
          }}
        />
      )}
      {error && (
        <div className="alert alert-error" role="alert" data-testid="api-key-error">
          {error.message}
        </div>
      )}
      <DataTable
        id="api-keys"
        columns={columns}
        rows={list.rows}
        total={list.total}
        loading={list.loading}
        error={list.error}
        rowId={(k) => k.id}
        sort={sort}
        onSort={setSort}
        hasMore={list.hasMore}
        onLoadMore={list.loadMore}
        height={creating || shown ? "24rem" : "calc(100vh - 14.5rem)"}
        empty={<EmptyState title="No API keys.">Create one for each server or script that manages licenses.</EmptyState>}
      />
      {acting?.action === "rotate" && (
        <ConfirmDialog
          title={`Rotate “${acting.key.name}”?`}
          body={`A new secret replaces ${acting.key.displayPrefix}… at once: whatever uses the old one is refused until you give it the new one, which is shown once. Scopes stay as they are.`}
          confirmLabel="Rotate key"
          busy={rotate.busy}
          onCancel={() => setActing(null)}
          onConfirm={async () => {
            const rotated = await rotate.run(acting.key.id);
            setActing(null);
            if (rotated) {
              revoke.clearError();
              setShown({ title: `New secret for “${rotated.name}”`, secret: rotated.key ?? "" });
              list.reload();
            }
          }}
        />
      )}
      {acting?.action === "revoke" && (
        <ConfirmDialog
          title={`Revoke “${acting.key.name}”?`}
          body={`${acting.key.displayPrefix}… stops working at once, for good. Whatever uses it is refused from its next call.`}
          confirmLabel="Revoke key"
          busy={revoke.busy}
          onCancel={() => setActing(null)}
          onConfirm={async () => {
            const done = await revoke.run(acting.key.id);
            setActing(null);
            if (done !== undefined) {
              rotate.clearError();
              toast({ message: `Revoked ${acting.key.name}.` });
              list.reload();
            }
          }}
        />
      )}
    </section>
  );
}
