import { type FormEvent, useState } from "react";
import type { AppError } from "../api/invoke";
import { validateLicense } from "../api/license";
import type { LicenseCheck } from "../bindings/LicenseCheck";
import { formatDateTime, relativeTo } from "../lib/time";

export function LicenseView({ demoKey }: { demoKey: string | null }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [check, setCheck] = useState<LicenseCheck | null>(null);
  const [error, setError] = useState<AppError | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCheck(await validateLicense(key));
    } catch (e) {
      // What the user typed stays in the field; only the outcome changes.
      setCheck(null);
      setError(e as AppError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="license-heading">
      <h1 id="license-heading">License</h1>
      <p className="muted">Enter your license key to check that it is valid.</p>
      <form className="key-form" onSubmit={onSubmit}>
        <label htmlFor="license-key">License key</label>
        <div className="key-row">
          <input
            id="license-key"
            data-testid="license-key-input"
            className="key-input"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="PREFIX-XXXX-XXXX-XXXX-XXXX"
            autoComplete="off"
            autoCapitalize="characters"
            spellCheck={false}
          />
          <button type="submit" data-testid="validate-button" className="button primary" disabled={busy}>
            {busy ? "Validating…" : "Validate"}
          </button>
        </div>
        {demoKey && (
          <p className="hint">
            Trying Licentric out? The local server holds a demo license:{" "}
            <code data-testid="demo-key">{demoKey}</code>{" "}
            <button type="button" className="button link" onClick={() => setKey(demoKey)}>
              Use it
            </button>
          </p>
        )}
      </form>

      <div aria-live="polite">
        {error && (
          <div className="alert alert-error" role="alert" data-testid="error-message">
            {error.message}
          </div>
        )}
        {check && <CheckResult check={check} />}
      </div>
    </section>
  );
}

function CheckResult({ check }: { check: LicenseCheck }) {
  const { result, explanation } = check;
  const license = result.license;
  return (
    <div className={`result ${result.valid ? "result-valid" : "result-invalid"}`} data-testid="validation-result">
      <div className="result-head">
        <span className="status-badge" data-testid="validation-code">
          {result.code}
        </span>
        <strong data-testid="validation-title">{explanation.title}</strong>
      </div>
      <p>{explanation.cause}</p>
      {!result.valid && (
        <p className="next-step" data-testid="validation-next-step">
          <strong>What to do:</strong> {explanation.nextStep}
        </p>
      )}
      {license && (
        <dl className="facts">
          <dt>Status</dt>
          <dd>{license.status}</dd>
          <dt>Expires</dt>
          <dd data-testid="license-expiry">
            {license.expiresAt
              ? `${formatDateTime(license.expiresAt)} (${relativeTo(license.expiresAt)})`
              : "Never"}
          </dd>
          <dt>License ID</dt>
          <dd className="mono">{license.id}</dd>
        </dl>
      )}
    </div>
  );
}
