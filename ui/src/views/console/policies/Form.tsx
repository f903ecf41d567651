// Create or edit a policy. Every rule sits beside a plain-words explanation of what it
// does to the customer's app; the server's problem with a rule is shown at that rule, and
// what was typed stays when it refuses.
import { useState, type FormEvent, type ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { listEntitlements } from "../../../api/console/entitlements";
import { createPolicy, deletePolicy, getPolicy, updatePolicy } from "../../../api/console/policies";
import { listProducts } from "../../../api/console/products";
import type { Policy } from "../../../bindings/Policy";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { Loading } from "../../../components/EmptyState";
import { Field, fieldProblem } from "../../../components/Field";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { FormProblems, PageHeader } from "../catalog";
import { useScope } from "../session";
import { DAY, wholeNumber } from "./rules";

export function PolicyForm(props: { id?: string; productId?: string }) {
  const { id } = props;
  const existing = useLoad(() => (id ? getPolicy(id) : Promise.resolve(null)), id ?? "new");
  if (id && !existing.data) {
    return (
      <section className="console-page">
        <PageHeader title="Policy" crumb={{ href: "/", label: "Policies" }} />
        {existing.error ? (
          <div className="alert alert-error" role="alert">
            {existing.error.message}
          </div>
        ) : (
          <Loading what="the policy" />
        )}
      </section>
    );
  }
  return <PolicyFormBody key={id ?? "new"} policy={existing.data ?? null} productId={props.productId} />;
}

const FIELDS = [
  "productId",
  "name",
  "maxMachines",
  "floating",
  "requireHeartbeat",
  "heartbeatInterval",
  "cullDeadMachines",
  "duration",
  "offlineMaxDays",
  "graceDays",
  "maxUses",
  "entitlements",
];

function PolicyFormBody(props: { policy: Policy | null; productId?: string }) {
  const { policy } = props;
  const [, navigate] = useLocation();
  const toast = useToast();
  const canWrite = useScope("policies:write");
  const products = useLoad(() => listProducts({ limit: 100, sort: "name" }), "products");
  const entitlements = useLoad(() => listEntitlements({ limit: 100, sort: "code" }), "entitlements");

  const [productId, setProductId] = useState(policy?.productId ?? props.productId ?? "");
  const [name, setName] = useState(policy?.name ?? "");
  const [floating, setFloating] = useState(policy?.floating ?? false);
  const [maxMachines, setMaxMachines] = useState(policy ? String(policy.maxMachines ?? "") : "3");
  const [requireHeartbeat, setRequireHeartbeat] = useState(policy?.requireHeartbeat ?? false);
  const [heartbeatMinutes, setHeartbeatMinutes] = useState(String(Math.round((policy?.heartbeatInterval ?? 600) / 60)));
  const [cull, setCull] = useState(policy?.cullDeadMachines ?? false);
  const [durationDays, setDurationDays] = useState(
    policy?.duration ? String(Math.round((policy.duration / DAY) * 100) / 100) : policy ? "" : "365",
  );
  const [offlineDays, setOfflineDays] = useState(String(policy?.offlineMaxDays ?? 14));
  const [graceDays, setGraceDays] = useState(String(policy?.graceDays ?? 7));
  const [maxUses, setMaxUses] = useState(policy?.maxUses === null || !policy ? "" : String(policy.maxUses));
  const [codes, setCodes] = useState<string[]>(policy?.entitlements ?? []);
  const [local, setLocal] = useState<Record<string, string>>({});

  const save = useCommand((values: Values) =>
    policy ? updatePolicy(policy.id, values) : createPolicy({ ...values, productId }),
  );
  const remove = useCommand(() => deletePolicy(policy?.id ?? ""));
  const [confirming, setConfirming] = useState(false);

  const problem = (field: string) => local[field] ?? fieldProblem(save.error, field);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const numbers = {
      maxMachines: floating ? wholeNumber(maxMachines) : 1,
      heartbeatInterval: wholeNumber(heartbeatMinutes),
      duration: durationDays.trim() === "" ? null : Number(durationDays),
      offlineMaxDays: wholeNumber(offlineDays),
      graceDays: wholeNumber(graceDays),
      maxUses: wholeNumber(maxUses),
    };
    const problems: Record<string, string> = {};
    for (const [field, value] of Object.entries(numbers)) {
      if (value !== null && Number.isNaN(value)) problems[field] = "Enter a whole number (or leave it empty where that is allowed).";
    }
    if (numbers.duration !== null && !(numbers.duration > 0)) problems.duration = "Enter a number of days, or leave it empty for a perpetual license.";
    if (!policy && !productId) problems.productId = "Choose the product this policy is for.";
    for (const required of ["heartbeatInterval", "offlineMaxDays", "graceDays"] as const) {
      if (numbers[required] === null) problems[required] = "Enter a number.";
    }
    setLocal(problems);
    if (Object.keys(problems).length > 0) return;
    const saved = await save.run({
      name,
      floating,
      maxMachines: numbers.maxMachines,
      requireHeartbeat,
      heartbeatInterval: (numbers.heartbeatInterval ?? 10) * 60,
      cullDeadMachines: cull,
      duration: numbers.duration === null ? null : Math.round(numbers.duration * DAY),
      offlineMaxDays: numbers.offlineMaxDays ?? 14,
      graceDays: numbers.graceDays ?? 7,
      maxUses: numbers.maxUses,
      entitlements: codes,
    });
    if (saved) {
      toast({ message: policy ? `Saved ${saved.name}.` : `Created ${saved.name}.` });
      navigate(policy ? "/" : `/${saved.id}`);
    }
  }

  const productName = products.data?.data.find((p) => p.id === productId)?.name;
  return (
    <section className="console-page" data-testid="policy-form">
      <PageHeader
        title={policy ? policy.name : "New policy"}
        crumb={{ href: "/", label: "Policies" }}
        description={
          policy
            ? `A policy of ${productName ?? "its product"}. Changes apply to its licenses from their next check.`
            : "The rules every license of this policy follows. You can change them later."
        }
        actions={
          policy &&
          canWrite && (
            <button type="button" className="button danger-text" data-testid="delete-policy" onClick={() => setConfirming(true)}>
              Delete…
            </button>
          )
        }
      />
      {remove.error && (
        <div className="alert alert-error" role="alert" data-testid="delete-error">
          {policy?.name} was not deleted: {remove.error.message}
        </div>
      )}
      <form className="card form" onSubmit={submit} noValidate>
        <fieldset disabled={!canWrite} className="field">
          <div className="rule-list">
            <Rule explain="Licenses are issued under a product's policy; a policy cannot move to another product.">
              <Field label="Product" problem={problem("productId")}>
                <select
                  data-testid="policy-product"
                  value={productId}
                  onChange={(e) => setProductId(e.target.value)}
                  disabled={!!policy}
                >
                  <option value="">Choose a product…</option>
                  {products.data?.data.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
                </select>
              </Field>
            </Rule>
            <Rule explain="What you and your team call it, e.g. Pro yearly, 3 seats.">
              <Field label="Name" problem={problem("name")}>
                <input data-testid="policy-name" value={name} onChange={(e) => setName(e.target.value)} />
              </Field>
            </Rule>
            <Rule
              explain={
                floating
                  ? "Floating: the license works on up to this many machines at once. The customer frees a seat by deactivating a machine. Leave empty for no limit."
                  : "Node-locked: the license is bound to one machine. To move it, the machine is deactivated first."
              }
            >
              <fieldset className="field">
                <legend>Machines</legend>
                <div className="choice" role="radiogroup">
                  <label>
                    <input type="radio" name="floating" data-testid="policy-node-locked" checked={!floating} onChange={() => setFloating(false)} />
                    Node-locked (one machine)
                  </label>
                  <label>
                    <input type="radio" name="floating" data-testid="policy-floating" checked={floating} onChange={() => setFloating(true)} />
                    Floating
                  </label>
                </div>
                {floating && (
                  <Field label="Most machines at once" problem={problem("maxMachines")}>
                    <input data-testid="policy-max-machines" inputMode="numeric" value={maxMachines} onChange={(e) => setMaxMachines(e.target.value)} placeholder="unlimited" />
                  </Field>
                )}
                {!floating && problem("maxMachines") && <p className="field-problem field-invalid">{problem("maxMachines")}</p>}
              </fieldset>
            </Rule>
            <Rule explain="Leave empty for a perpetual license that never expires. Otherwise a license expires this many days after it is issued or renewed, and the app stops accepting it.">
              <Field label="Duration (days)" problem={problem("duration")}>
                <input data-testid="policy-duration" inputMode="decimal" value={durationDays} onChange={(e) => setDurationDays(e.target.value)} placeholder="perpetual" />
              </Field>
            </Rule>
            <Rule explain="Heartbeats prove a machine is still running. A machine that misses them is counted as dead; useful with floating seats, so a crashed laptop does not hold a seat for ever.">
              <div>
                <label className="check">
                  <input type="checkbox" data-testid="policy-require-heartbeat" checked={requireHeartbeat} onChange={(e) => setRequireHeartbeat(e.target.checked)} />
                  Require heartbeats
                </label>
                {requireHeartbeat && (
                  <Field label="Every (minutes)" help="1 minute to 7 days (10 080 minutes)." problem={problem("heartbeatInterval")}>
                    <input data-testid="policy-heartbeat-interval" inputMode="numeric" value={heartbeatMinutes} onChange={(e) => setHeartbeatMinutes(e.target.value)} />
                  </Field>
                )}
                {!requireHeartbeat && problem("heartbeatInterval") && <p className="field-problem">{problem("heartbeatInterval")}</p>}
              </div>
            </Rule>
            <Rule explain="When on, a dead machine (no heartbeat in time) is removed from the license at once, freeing its seat for another machine. When off, it stays until someone deactivates it.">
              <div>
                <label className="check">
                  <input type="checkbox" data-testid="policy-cull" checked={cull} onChange={(e) => setCull(e.target.checked)} />
                  Remove dead machines automatically
                </label>
                {problem("cullDeadMachines") && <p className="field-problem">{problem("cullDeadMachines")}</p>}
              </div>
            </Rule>
            <Rule explain="How many days a machine may keep working on a license file without reaching your server (1–365). After that the app asks the user to go online or get a new file.">
              <Field label="Offline days" problem={problem("offlineMaxDays")}>
                <input data-testid="policy-offline-days" inputMode="numeric" value={offlineDays} onChange={(e) => setOfflineDays(e.target.value)} />
              </Field>
            </Rule>
            <Rule explain="When the app cannot reach your server, it keeps working on its last good check for this many extra days (0–90) before it locks.">
              <Field label="Grace days" problem={problem("graceDays")}>
                <input data-testid="policy-grace-days" inputMode="numeric" value={graceDays} onChange={(e) => setGraceDays(e.target.value)} />
              </Field>
            </Rule>
            <Rule explain="For metered licenses: how many validations a license allows in all. Leave empty for unlimited.">
              <Field label="Most uses" problem={problem("maxUses")}>
                <input data-testid="policy-max-uses" inputMode="numeric" value={maxUses} onChange={(e) => setMaxUses(e.target.value)} placeholder="unlimited" />
              </Field>
            </Rule>
            <Rule explain="Features every license of this policy carries; your app asks for them by code. Licenses can carry extra ones of their own.">
              <fieldset className="field" data-testid="policy-entitlements">
                <legend>Entitlements</legend>
                {entitlements.data?.data.length === 0 && (
                  <p className="muted small">
                    None exist yet: <Link href="~/entitlements">create entitlements</Link> first.
                  </p>
                )}
                <div className="check-grid">
                  {entitlements.data?.data.map((e) => (
                    <label key={e.id} className="check">
                      <input
                        type="checkbox"
                        checked={codes.includes(e.code)}
                        onChange={(event) =>
                          setCodes(event.target.checked ? [...codes, e.code] : codes.filter((c) => c !== e.code))
                        }
                      />
                      <span>
                        {e.name} <code className="muted">{e.code}</code>
                      </span>
                    </label>
                  ))}
                </div>
                {problem("entitlements") && <p className="field-problem">{problem("entitlements")}</p>}
              </fieldset>
            </Rule>
          </div>
        </fieldset>
        <FormProblems error={save.error} fields={FIELDS} />
        {canWrite && (
          <div className="form-actions">
            <button type="button" className="button" onClick={() => navigate("/")}>
              Cancel
            </button>
            <button type="submit" className="button primary" data-testid="policy-submit" disabled={save.busy}>
              {save.busy ? "Saving…" : policy ? "Save changes" : "Create policy"}
            </button>
          </div>
        )}
      </form>
      {confirming && policy && (
        <ConfirmDialog
          title={`Delete ${policy.name}?`}
          body="The policy is removed for good. The server refuses while licenses still use it: move or delete them first."
          confirmLabel="Delete policy"
          busy={remove.busy}
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            const done = await remove.run();
            setConfirming(false);
            if (done !== undefined) {
              toast({ message: `Deleted ${policy.name}.` });
              navigate("/");
            }
          }}
        />
      )}
    </section>
  );
}

type Values = {
  name: string;
  floating: boolean;
  maxMachines: number | null;
  requireHeartbeat: boolean;
  heartbeatInterval: number;
  cullDeadMachines: boolean;
  duration: number | null;
  offlineMaxDays: number;
  graceDays: number;
  maxUses: number | null;
  entitlements: string[];
};

function Rule(props: { explain: string; children: ReactNode }) {
  return (
    <div className="rule">
      {props.children}
      <p className="rule-explain">{props.explain}</p>
    </div>
  );
}
