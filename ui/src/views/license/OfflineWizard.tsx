import { type DragEvent, useState } from "react";
import { type AppError, toAppError } from "../../api/invoke";
import { importLicenseFile, offlineRequest } from "../../api/offline";
import type { LicenseView } from "../../bindings/LicenseView";
import type { OfflineRequest } from "../../bindings/OfflineRequest";
import { checkKey } from "../../lib/licenseKey";
import { formatDateTime, relativeTo } from "../../lib/time";
import { copyText } from "../../lib/clipboard";

type Step = 1 | 2 | 3;

/** Offline activation for an air-gapped machine, as support walks a customer through it. */
export function OfflineWizard({ onDone }: { onDone: () => void }) {
  const [step, setStep] = useState<Step>(1);
  const [key, setKey] = useState("");
  const [request, setRequest] = useState<OfflineRequest | null>(null);
  const [fileText, setFileText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [copied, setCopied] = useState(false);
  const [result, setResult] = useState<LicenseView | null>(null);
  const check = checkKey(key);

  async function makeRequest() {
    if (!check.ok) return;
    setBusy(true);
    setError(null);
    try {
      setRequest(await offlineRequest(check.key));
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  }

  async function copy() {
    if (!request) return;
    setCopied(await copyText(request.text, "request-text"));
  }

  async function importFile() {
    setBusy(true);
    setError(null);
    try {
      setResult(await importLicenseFile(fileText, check.ok ? check.key : null));
      setStep(3);
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  }

  async function readFile(file: File | undefined) {
    if (!file) return;
    setFileText(await file.text());
    setError(null);
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    void readFile(event.dataTransfer.files[0]);
  }

  return (
    <section className="card" aria-labelledby="offline-heading">
      <h1 id="offline-heading">Offline activation</h1>
      <p className="muted">For a machine without internet access: send support this machine's request, then import the license file they send back.</p>
      <ol className="steps" aria-label="Steps">
        {["Request", "Import", "Done"].map((name, i) => (
          <li key={name} className={step === i + 1 ? "current" : step > i + 1 ? "done" : ""} aria-current={step === i + 1 ? "step" : undefined}>
            {i + 1}. {name}
          </li>
        ))}
      </ol>

      {step === 1 && (
        <div data-testid="wizard-step-1">
          <label htmlFor="offline-key">License key</label>
          <div className="key-row">
            <input
              id="offline-key"
              data-testid="offline-key-input"
              className="key-input"
              value={key}
              onChange={(e) => setKey(e.target.value)}
              placeholder="PREFIX-XXXX-XXXX-XXXX-XXXX"
              autoComplete="off"
              spellCheck={false}
            />
            <button type="button" className="button primary" data-testid="make-request" disabled={!check.ok || busy} onClick={makeRequest}>
              {busy ? "Creating…" : "Create request"}
            </button>
          </div>
          <p className="hint">{check.ok ? `Ready: ${check.key}` : (check.hint ?? "The key from the purchase e-mail.")}</p>
          {request && (
            <div className="request">
              <div>
                <label htmlFor="request-text">Activation request — send this to support</label>
                <textarea id="request-text" data-testid="request-text" readOnly value={request.text} rows={5} />
                <div className="row">
                  <button type="button" className="button" data-testid="copy-request" onClick={copy}>
                    {copied ? "Copied" : "Copy"}
                  </button>
                  {request.savedTo && (
                    <span className="muted small" data-testid="request-saved">
                      Also saved as {request.savedTo}
                    </span>
                  )}
                </div>
              </div>
              <img
                className="qr"
                data-testid="request-qr"
                alt="The activation request as a QR code"
                src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(request.qrSvg)}`}
              />
            </div>
          )}
          <div className="row end">
            <button type="button" className="button primary" data-testid="to-import" disabled={!request} onClick={() => setStep(2)}>
              Next: import the license file
            </button>
          </div>
        </div>
      )}

      {step === 2 && (
        <div data-testid="wizard-step-2">
          <div className="dropzone" onDragOver={(e) => e.preventDefault()} onDrop={drop}>
            <p>Drop the license file (.lic) here, or</p>
            <input type="file" accept=".lic,text/plain" aria-label="Choose the license file" onChange={(e) => void readFile(e.target.files?.[0])} />
          </div>
          <label htmlFor="license-file-text">…or paste the file's contents</label>
          <textarea
            id="license-file-text"
            data-testid="license-file-text"
            value={fileText}
            onChange={(e) => setFileText(e.target.value)}
            rows={8}
            spellCheck={false}
            placeholder="-----BEGIN LICENTRIC LICENSE FILE-----"
          />
          {error && (
            <div className="alert alert-error" role="alert" data-testid="import-error">
              <strong>{refusalTitle(error)}</strong> {error.message}
            </div>
          )}
          <div className="row end">
            <button type="button" className="button" onClick={() => setStep(1)}>
              Back
            </button>
            <button type="button" className="button primary" data-testid="import-file" disabled={busy || fileText.trim() === ""} onClick={importFile}>
              {busy ? "Verifying…" : "Verify and import"}
            </button>
          </div>
        </div>
      )}

      {step === 3 && result?.info && (
        <div data-testid="wizard-step-3">
          <div className="alert alert-ok" data-testid="import-done">
            The license file is genuine and was issued for this machine. The application is licensed offline.
          </div>
          <dl className="facts">
            <dt>License</dt>
            <dd className="mono">{result.info.licenseId}</dd>
            <dt>Works offline until</dt>
            <dd data-testid="file-expiry">
              {result.info.expiresAt ? `${formatDateTime(result.info.expiresAt)} (${relativeTo(result.info.expiresAt, new Date(result.checkedAt))})` : "—"}
            </dd>
            <dt>License expires</dt>
            <dd>{result.info.licenseExpiresAt ? formatDateTime(result.info.licenseExpiresAt) : "Never"}</dd>
            <dt>Entitlements</dt>
            <dd>{result.info.entitlements.length === 0 ? "None" : result.info.entitlements.join(", ")}</dd>
            <dt>Bound to</dt>
            <dd>This machine</dd>
          </dl>
          <div className="row end">
            <button type="button" className="button primary" data-testid="wizard-finish" onClick={onDone}>
              Go to the License view
            </button>
          </div>
        </div>
      )}
      {step === 1 && error && (
        <div className="alert alert-error" role="alert" data-testid="import-error">
          {error.message}
        </div>
      )}
    </section>
  );
}

function refusalTitle(error: AppError): string {
  switch (error.code) {
    case "clock_tampered":
      return "Clock problem.";
    case "expired":
      return "Expired.";
    case "revoked":
    case "suspended":
      return "License not usable.";
    default:
      return "Refused.";
  }
}
