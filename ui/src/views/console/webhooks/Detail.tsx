// One webhook endpoint: on/off (and why the server turned it off), a test event with the
// receiver's answer, the delivery log with redelivery, and its signing secret's rotation.
import { useCallback, useEffect, useMemo, useState } from "react";
import { useLocation } from "wouter";
import {
  deleteWebhook,
  getWebhook,
  redeliverWebhookDelivery,
  rotateWebhookSecret,
  testWebhook,
  updateWebhook,
  webhookDeliveries,
} from "../../../api/console/webhooks";
import type { ListQuery } from "../../../bindings/ListQuery";
import type { WebhookDelivery } from "../../../bindings/WebhookDelivery";
import type { WebhookTestResult } from "../../../bindings/WebhookTestResult";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { DataTable, type Column } from "../../../components/DataTable";
import { EmptyState, Loading } from "../../../components/EmptyState";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { relativeTo } from "../../../lib/time";
import { PageHeader, SecretOnce, usePaged, When } from "../catalog";
import { useScope } from "../session";
import { eventsText } from "./events";
import { WebhookFields } from "./Form";
import { WebhookStatus } from "./List";

export function WebhookDetail(props: { id: string }) {
  const { id } = props;
  const [, navigate] = useLocation();
  const toast = useToast();
  const canWrite = useScope("webhooks:write");
  const loaded = useLoad(() => getWebhook(id), id);
  const [editing, setEditing] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<"rotate" | "delete" | null>(null);
  const [result, setResult] = useState<WebhookTestResult | null>(null);
  const toggle = useCommand((enabled: boolean) => updateWebhook(id, { enabled, description: loaded.data?.description ?? null }));
  const rotate = useCommand(() => rotateWebhookSecret(id));
  const remove = useCommand(() => deleteWebhook(id));
  const test = useCommand(() => testWebhook(id));
  const deliveriesQuery = useMemo<ListQuery>(() => ({ sort: "-createdAt" }), []);
  const loadDeliveries = useCallback((query: ListQuery) => webhookDeliveries(id, query), [id]);
  const deliveries = usePaged(loadDeliveries, deliveriesQuery);
  // While a delivery waits for its next attempt, the log follows it.
  const pending = deliveries.rows.some((d) => d.status === "pending");
  const { reload: reloadDeliveries, rows: deliveryRows } = deliveries;
  useEffect(() => {
    if (!pending) return;
    const timer = window.setTimeout(reloadDeliveries, 2000);
    return () => window.clearTimeout(timer);
  }, [pending, reloadDeliveries, deliveryRows]);

  if (!loaded.data) {
    return (
      <section className="console-page">
        <PageHeader title="Webhook endpoint" crumb={{ href: "/", label: "Webhooks" }} />
        {loaded.error ? (
          <div className="alert alert-error" role="alert">
            {loaded.error.message}
          </div>
        ) : (
          <Loading what="the endpoint" />
        )}
      </section>
    );
  }
  const webhook = loaded.data;
  const error = toggle.error ?? rotate.error ?? remove.error ?? test.error;

  async function sendTest() {
    setResult(null);
    const answer = await test.run();
    if (answer) {
      setResult(answer);
      deliveries.reload();
    }
  }

  return (
    <section className="console-page" data-testid="webhook-detail">
      <PageHeader
        title={webhook.description || "Webhook endpoint"}
        crumb={{ href: "/", label: "Webhooks" }}
        description={<code data-testid="webhook-detail-url">{webhook.url}</code>}
        actions={
          canWrite && (
            <>
              <button
                type="button"
                className="button"
                data-testid="webhook-toggle"
                disabled={toggle.busy}
                onClick={async () => {
                  const next = await toggle.run(!webhook.enabled);
                  if (next) {
                    loaded.setData(next);
                    toast({ message: next.enabled ? "Deliveries turned on." : "Deliveries turned off." });
                  }
                }}
              >
                {webhook.enabled ? "Disable" : "Enable"}
              </button>
              <button type="button" className="button" data-testid="webhook-edit" onClick={() => setEditing(true)} disabled={editing}>
                Edit
              </button>
              <button type="button" className="button" data-testid="webhook-rotate" onClick={() => setConfirm("rotate")}>
                Rotate secret…
              </button>
              <button type="button" className="button danger-text" data-testid="webhook-delete" onClick={() => setConfirm("delete")}>
                Delete…
              </button>
            </>
          )
        }
      />
      {webhook.disabledReason && (
        <div className="alert alert-error" role="alert" data-testid="webhook-disabled-reason">
          <strong>The server turned this endpoint off</strong>
          {webhook.disabledAt && (
            <>
              {" "}
              <When iso={webhook.disabledAt} />
            </>
          )}
          : {webhook.disabledReason} Tip: send a test event first.
        </div>
      )}
      {error && (
        <div className="alert alert-error" role="alert" data-testid="webhook-error">
          {error.message}
        </div>
      )}
      {secret && (
        <SecretOnce title="The endpoint's new signing secret" secret={secret} why="The console cannot show it again. If it is lost, rotate the secret and update your receiver." onDismiss={() => setSecret(null)} />
      )}
      {editing && (
        <WebhookFields
          webhook={webhook}
          onCancel={() => setEditing(false)}
          onSaved={(saved) => {
            loaded.setData(saved);
            setEditing(false);
          }}
        />
      )}
      <div className="detail-grid">
        <div className="card">
          <h2>Endpoint</h2>
          <dl className="facts">
            <dt>Status</dt>
            <dd data-testid="webhook-status">
              <WebhookStatus webhook={webhook} />
            </dd>
            <dt>Events</dt>
            <dd>{eventsText(webhook.events)}</dd>
            <dt>Added</dt>
            <dd>
              <When iso={webhook.createdAt} />
            </dd>
            <dt>Signature</dt>
            <dd className="small">
              Each request carries a <code>Licentric-Signature</code> header made with the endpoint's secret; check it
              before trusting the body.
            </dd>
          </dl>
        </div>
        <div className="card" data-testid="webhook-test-card">
          <div className="card-head">
            <h2>Test</h2>
            {canWrite && (
              <button type="button" className="button primary small" data-testid="webhook-test" disabled={test.busy} onClick={() => void sendTest()}>
                {test.busy ? "Sending…" : "Send a test event"}
              </button>
            )}
          </div>
          <p className="muted small">
            Sends a signed <code>webhook.test</code> event now and shows what your endpoint answered.
          </p>
          {result && <TestResult result={result} />}
        </div>
      </div>
      <div>
        <h2>Delivery log</h2>
        <Deliveries webhookId={id} deliveries={deliveries} canWrite={canWrite} />
      </div>
      {confirm === "rotate" && (
        <ConfirmDialog
          title="Rotate the signing secret?"
          body="A new secret signs every request from now on; your receiver must check signatures with the new secret, or it will reject them. The new secret is shown once."
          confirmLabel="Rotate secret"
          busy={rotate.busy}
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            const rotated = await rotate.run();
            setConfirm(null);
            if (rotated) {
              setSecret(rotated.secret);
              loaded.setData({ ...rotated, secret: null });
            }
          }}
        />
      )}
      {confirm === "delete" && (
        <ConfirmDialog
          title="Delete this endpoint?"
          body={`Nothing more is sent to ${webhook.url}, and its delivery log is deleted.`}
          confirmLabel="Delete endpoint"
          busy={remove.busy}
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            const done = await remove.run();
            setConfirm(null);
            if (done !== undefined) {
              toast({ message: "Endpoint deleted." });
              navigate("/");
            }
          }}
        />
      )}
    </section>
  );
}

function TestResult(props: { result: WebhookTestResult }) {
  const { result } = props;
  return (
    <div className={result.delivered ? "test-result ok" : "test-result bad"} data-testid="webhook-test-result" role="status">
      <p>
        <strong>{result.delivered ? "Delivered: your endpoint accepted it." : "Not delivered."}</strong>
      </p>
      <p>
        Answer:{" "}
        <span data-testid="webhook-test-status">{result.status === null ? "no HTTP answer" : `HTTP ${result.status}`}</span> in{" "}
        <span data-testid="webhook-test-duration">{result.durationMs} ms</span>
      </p>
      {result.error && (
        <p data-testid="webhook-test-error">
          {result.error}
          {result.status !== null && result.status >= 300 ? " — your endpoint must answer with a 2xx status." : ""}
        </p>
      )}
    </div>
  );
}

function statusOf(d: WebhookDelivery) {
  if (d.status === "succeeded") return <span className="status-dot status-ok">Delivered</span>;
  if (d.status === "failed") return <span className="status-dot status-bad">Failed</span>;
  return <span className="status-dot status-warn">{d.attempts > 0 ? "Retrying" : "Pending"}</span>;
}

function Deliveries(props: { webhookId: string; deliveries: ReturnType<typeof usePaged<WebhookDelivery>>; canWrite: boolean }) {
  const { deliveries, webhookId, canWrite } = props;
  const toast = useToast();
  const redeliver = useCommand((deliveryId: string) => redeliverWebhookDelivery(webhookId, deliveryId));
  const columns = useMemo<Column<WebhookDelivery>[]>(
    () => [
      { id: "event", header: "Event", width: "20%", cell: ({ row }) => <code>{row.original.event}</code> },
      { id: "status", header: "Status", width: "9rem", cell: ({ row }) => statusOf(row.original) },
      { id: "attempts", header: "Attempts", width: "6rem", cell: ({ row }) => row.original.attempts },
      {
        id: "answer",
        header: "Last answer",
        cell: ({ row }) => {
          const d = row.original;
          // The error names the status when there was one; alone, the status says it all.
          const text = d.lastError ?? (d.lastStatusCode !== null ? `HTTP ${d.lastStatusCode}` : "");
          return <span title={text}>{text || "—"}</span>;
        },
      },
      {
        id: "next",
        header: "Next retry",
        width: "9rem",
        cell: ({ row }) =>
          row.original.nextAttemptAt && row.original.status === "pending" ? (
            <span title={row.original.nextAttemptAt}>{relativeTo(row.original.nextAttemptAt)}</span>
          ) : (
            <span className="muted">—</span>
          ),
      },
      { id: "createdAt", header: "When", width: "11rem", cell: ({ row }) => <When iso={row.original.createdAt} /> },
      {
        id: "redeliver",
        header: "",
        width: "7.5rem",
        cell: ({ row }) =>
          canWrite && (
            <button
              type="button"
              className="button small"
              data-testid="redeliver"
              disabled={redeliver.busy}
              onClick={async (e) => {
                e.stopPropagation();
                const sent = await redeliver.run(row.original.id);
                if (sent) {
                  toast({ message: sent.status === "succeeded" ? "Redelivered." : `Redelivery queued (${sent.status}).` });
                  deliveries.reload();
                }
              }}
            >
              Redeliver
            </button>
          ),
      },
    ],
    [canWrite, redeliver, toast, deliveries],
  );
  return (
    <>
      {redeliver.error && (
        <div className="alert alert-error" role="alert">
          {redeliver.error.message}
        </div>
      )}
      <DataTable
        id="deliveries"
        columns={columns}
        rows={deliveries.rows}
        total={deliveries.total}
        loading={deliveries.loading}
        error={deliveries.error}
        rowId={(d) => d.id}
        hasMore={deliveries.hasMore}
        onLoadMore={deliveries.loadMore}
        height="20rem"
        empty={<EmptyState title="Nothing sent yet.">Deliveries appear here as events happen, or send a test event.</EmptyState>}
      />
    </>
  );
}
