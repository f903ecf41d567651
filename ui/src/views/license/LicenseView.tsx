import { type FormEvent, useCallback, useEffect, useState } from "react";
import { launchPainted } from "../../api/app";
import { type AppError, toAppError } from "../../api/invoke";
import { activateLicense, deactivateThisMachine, licenseSlots, licenseStatus } from "../../api/license";
import type { LicenseView as View } from "../../bindings/LicenseView";
import type { Slots } from "../../bindings/Slots";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { SlotsCard } from "../../components/SlotsCard";
import { checkKey } from "../../lib/licenseKey";
import { needsActivation, statusWords } from "../../lib/status";
import { formatDateTime, relativeTo } from "../../lib/time";

export function LicenseView({ demoKey }: { demoKey: string | null }) {
  const [view, setView] = useState<View | null>(null);
  const [loading, setLoading] = useState(true);
  const [failure, setFailure] = useState<AppError | null>(null);

  const load = useCallback(async () => {
    try {
      setView(await licenseStatus());
      setFailure(null);
    } catch (e) {
      setFailure(toAppError(e));
    } finally {
      setLoading(false);
    }
  }, []);

  const refresh = useCallback(() => {
    setLoading(true);
    void load();
  }, [load]);

  useEffect(() => {
    // The first check starts as the view appears (loading is already true).
    licenseStatus().then(
      (status) => {
        setView(status);
        setLoading(false);
      },
      (e: unknown) => {
        setFailure(toAppError(e));
        setLoading(false);
      },
    );
  }, []);

  const shown = view !== null;
  useEffect(() => {
    if (!shown) return;
    // The launch benchmark (scripts/bench-ship) reads this mark, and the app logs
    // `launch: painted` when told: set in the frame after the one that drew the status,
    // so the status is on screen by then.
    let second = 0;
    const first = requestAnimationFrame(() => {
      second = requestAnimationFrame(() => {
        performance.mark("license-view-painted");
        void launchPainted();
      });
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [shown]);

  if (!view) {
    return (
      <section className="card" aria-busy={loading}>
        <h1>License</h1>
        {failure?.code === "server_unavailable" ? (
          // The app shows why above, with the way to Settings.
          <p className="muted" data-testid="no-server">
            Your license appears here once a license server is set up.
          </p>
        ) : failure ? (
          <div className="alert alert-error" role="alert" data-testid="error-message">
            {failure.message}
          </div>
        ) : (
          <p className="muted" data-testid="loading">
            Checking your license…
          </p>
        )}
      </section>
    );
  }

  return (
    <>
      <StatusCard view={view} loading={loading} onRefresh={refresh} />
      {failure && (
        <div className="alert alert-error" role="alert" data-testid="error-message">
          {failure.message}
        </div>
      )}
      {needsActivation(view) && <ActivationCard demoKey={demoKey} onActivated={setView} />}
      {view.slots && (
        <SlotsCard
          slots={view.slots}
          licenseKey={null}
          onChanged={(slots) => setView({ ...view, slots })}
        />
      )}
      {view.info?.machineId && <DeactivateThis onDone={setView} />}
    </>
  );
}

function StatusCard({ view, loading, onRefresh }: { view: View; loading: boolean; onRefresh: () => void }) {
  const words = statusWords(view);
  const info = view.info;
  const message = view.licensed ? (view.error?.message ?? info?.message) : view.error?.message;
  // "In 3 days" counts from the app's clock, which decided the status; a clock set back
  // cannot count anything, so then only dates are shown.
  const now = new Date(view.checkedAt);
  const clockTrusted = info?.standing !== "clock_tampered";
  const when = (iso: string) => (clockTrusted ? `${formatDateTime(iso)} (${relativeTo(iso, now)})` : formatDateTime(iso));
  return (
    <section
      className={`card status-card tone-${words.tone}`}
      aria-labelledby="license-heading"
      aria-busy={loading}
      data-testid="status-card"
      data-checked-at={view.checkedAt}
    >
      <div className="card-head">
        <h1 id="license-heading">License</h1>
        <button type="button" className="button" data-testid="refresh-button" onClick={onRefresh} disabled={loading}>
          {loading ? "Checking…" : "Refresh"}
        </button>
      </div>
      <div className="status-line">
        <span className={`status-pill tone-${words.tone}`} data-testid="status-label">
          {words.label}
        </span>
        {info?.licenseKey && <code className="muted">{info.licenseKey}</code>}
      </div>
      {message && (
        <p className="status-message" data-testid="status-message">
          {message}
        </p>
      )}
      {info && (info.licenseExpiresAt || info.expiresAt || info.entitlements.length > 0) && (
        <dl className="facts">
          {info.licenseExpiresAt !== null && (
            <>
              <dt>Expires</dt>
              <dd data-testid="license-expiry">
                {when(info.licenseExpiresAt)}
              </dd>
            </>
          )}
          {info.lastOnlineAt && (
            <>
              <dt>Last online check</dt>
              <dd data-testid="last-online">{formatDateTime(info.lastOnlineAt)}</dd>
            </>
          )}
          {info.expiresAt && clockTrusted && (
            <>
              <dt>Works offline until</dt>
              <dd data-testid="offline-until">
                {when(info.expiresAt)}
              </dd>
            </>
          )}
          {info.graceEndsAt && clockTrusted && (
            <>
              <dt>Grace period ends</dt>
              <dd data-testid="grace-ends">
                {when(info.graceEndsAt)}
              </dd>
            </>
          )}
          {info.heartbeatInterval !== null && (
            <>
              <dt>Heartbeat</dt>
              <dd data-testid="heartbeat">
                Every {describeInterval(info.heartbeatInterval)}
                {view.heartbeats ? ", sent while the app runs" : ", not being sent (activate this machine to start)"}
              </dd>
            </>
          )}
          <dt>Entitlements</dt>
          <dd data-testid="entitlements">
            {info.entitlements.length === 0
              ? "None"
              : info.entitlements.map((e) => (
                  <span key={e} className="tag">
                    {e}
                  </span>
                ))}
          </dd>
        </dl>
      )}
      {view.licensed && !view.slots && info?.standing !== "online" && (
        <p className="muted small" data-testid="slots-offline">
          Machine slots are shown when the license server can be reached.
        </p>
      )}
    </section>
  );
}

function ActivationCard({ demoKey, onActivated }: { demoKey: string | null; onActivated: (view: View) => void }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [fullSlots, setFullSlots] = useState<Slots | null>(null);
  const check = checkKey(key);

  async function activate(event: FormEvent) {
    event.preventDefault();
    if (!check.ok) return;
    setBusy(true);
    setError(null);
    try {
      onActivated(await activateLicense(check.key));
      setFullSlots(null);
    } catch (e) {
      // What the user typed stays; a full license offers to free a slot right here.
      const failure = toAppError(e);
      setError(failure);
      setFullSlots(failure.code === "machine_limit" ? await licenseSlots(check.key).catch(() => null) : null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="activate-heading">
      <h2 id="activate-heading">Activate this machine</h2>
      <form className="key-form" onSubmit={activate}>
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
            aria-invalid={!check.ok && check.hint !== null}
            aria-describedby="key-hint"
          />
          <button type="submit" data-testid="activate-button" className="button primary" disabled={busy || !check.ok}>
            {busy ? "Activating…" : "Activate"}
          </button>
        </div>
        <p id="key-hint" className="hint" data-testid="key-hint">
          {check.ok ? `Ready: ${check.key}` : (check.hint ?? "Paste the key from your purchase e-mail.")}
        </p>
        {demoKey && (
          <p className="hint">
            Trying Licentric out? The local server holds a demo license: <code data-testid="demo-key">{demoKey}</code>{" "}
            <button type="button" className="button link" onClick={() => setKey(demoKey)}>
              Use it
            </button>
          </p>
        )}
      </form>
      {error && (
        <div className="alert alert-error" role="alert" data-testid="error-message">
          {error.message}
        </div>
      )}
      {fullSlots && check.ok && (
        <>
          <p className="hint" data-testid="free-a-slot">
            Choose a machine to deactivate, then activate again.
          </p>
          <SlotsCard slots={fullSlots} licenseKey={check.key} onChanged={setFullSlots} />
        </>
      )}
    </section>
  );
}

function DeactivateThis({ onDone }: { onDone: (view: View) => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  async function confirm() {
    setBusy(true);
    try {
      onDone(await deactivateThisMachine());
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
      setAsking(false);
    }
  }

  return (
    <section className="card subtle">
      <div className="card-head">
        <div>
          <h2>Move this license</h2>
          <p className="muted small">Deactivating frees this machine's seat and removes the key from this machine.</p>
        </div>
        <button type="button" className="button" data-testid="deactivate-this-button" onClick={() => setAsking(true)}>
          Deactivate this machine
        </button>
      </div>
      {error && (
        <div className="alert alert-error" role="alert">
          {error.message}
        </div>
      )}
      {asking && (
        <ConfirmDialog
          title="Deactivate this machine?"
          body="The license stops working here until you activate it again; its seat becomes free for another machine."
          confirmLabel="Deactivate"
          busy={busy}
          onConfirm={confirm}
          onCancel={() => setAsking(false)}
        />
      )}
    </section>
  );
}

function describeInterval(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? "hour" : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? "minute" : `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}
