// A new API key: a name and the scopes it gets — never more than the console's own key holds.
import { useState, type FormEvent } from "react";
import { createApiKey } from "../../../api/console/apiKeys";
import type { ApiKey } from "../../../bindings/ApiKey";
import { Field, fieldProblem } from "../../../components/Field";
import { useCommand } from "../../../hooks/useCommand";
import { FormProblems } from "../catalog";
import { useSession } from "../session";

/** Every scope, grouped by area, with what it allows. */
const AREAS: Array<{ area: string; read: string; write?: string }> = [
  { area: "licenses", read: "see licenses", write: "issue, change, suspend, revoke" },
  { area: "machines", read: "see machines", write: "activate, deactivate" },
  { area: "products", read: "see products, signing keys", write: "change products, rotate keys" },
  { area: "policies", read: "see policies", write: "change policies" },
  { area: "entitlements", read: "see entitlements", write: "change entitlements" },
  { area: "webhooks", read: "see webhooks, deliveries", write: "change, test webhooks" },
  { area: "analytics", read: "see the dashboard" },
  { area: "events", read: "read the audit log" },
];

export function NewApiKeyForm(props: { onCreated: (key: ApiKey) => void; onCancel: () => void }) {
  const session = useSession();
  const held = session.key.scopes;
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const create = useCommand(() => createApiKey({ name, scopes }));
  const missing = AREAS.flatMap((a) => [`${a.area}:read`, ...(a.write ? [`${a.area}:write`] : [])]).filter(
    (s) => !held.includes(s),
  );

  function toggle(scope: string, on: boolean) {
    setScopes(on ? [...scopes, scope] : scopes.filter((s) => s !== scope));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const created = await create.run();
    if (created) props.onCreated(created);
  }

  return (
    <form className="card form" onSubmit={submit} noValidate data-testid="api-key-form">
      <h2>New API key</h2>
      <Field label="Name" help="Where it will be used, e.g. Billing server or CI release script." problem={fieldProblem(create.error, "name")}>
        <input data-testid="api-key-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
      </Field>
      <fieldset className="field" data-testid="api-key-scopes-choice">
        <legend>Scopes: what the key may do</legend>
        <div className="check-grid">
          {AREAS.flatMap((a) =>
            [
              { scope: `${a.area}:read`, what: a.read },
              ...(a.write ? [{ scope: `${a.area}:write`, what: a.write }] : []),
            ].map(({ scope, what }) => {
              const allowed = held.includes(scope);
              return (
                <label key={scope} className={allowed ? "check" : "check disabled"} title={allowed ? undefined : "This console's key lacks it"}>
                  <input
                    type="checkbox"
                    data-testid={`scope-${scope}`}
                    disabled={!allowed}
                    checked={scopes.includes(scope)}
                    onChange={(e) => toggle(scope, e.target.checked)}
                  />
                  <span>
                    <code>{scope}</code>
                    <br />
                    <span className="muted small">{what}</span>
                  </span>
                </label>
              );
            }),
          )}
        </div>
        {missing.length > 0 && (
          <p className="field-help">
            A key can only be given scopes the key creating it holds. This console's key lacks {missing.join(", ")}.
          </p>
        )}
        {fieldProblem(create.error, "scopes") && <p className="field-problem">{fieldProblem(create.error, "scopes")}</p>}
      </fieldset>
      <FormProblems error={create.error} fields={["name", "scopes"]} />
      <div className="form-actions">
        <span className="muted small">It works in the {session.key.environment} environment, like this console's key.</span>
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button primary" data-testid="api-key-submit" disabled={create.busy || scopes.length === 0}>
          {create.busy ? "Creating…" : "Create key"}
        </button>
      </div>
    </form>
  );
}
