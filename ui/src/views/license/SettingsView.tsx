import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import { type AppError, toAppError } from "../../api/invoke";
import { checkSettings, exportDiagnostics, getSettings, saveSettings, testConnection } from "../../api/settings";
import type { AppInfo } from "../../bindings/AppInfo";
import type { ConnectionTest } from "../../bindings/ConnectionTest";
import type { Diagnostics } from "../../bindings/Diagnostics";
import type { FieldProblem } from "../../bindings/FieldProblem";
import type { Settings } from "../../bindings/Settings";
import type { Theme } from "../../bindings/Theme";
import { copyText } from "../../lib/clipboard";
import { applyTheme } from "../../lib/theme";

const THEMES: Array<{ value: Theme; label: string }> = [
  { value: "system", label: "Same as the system" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

const FIELD_NAMES: Record<string, string> = {
  serverUrl: "Server URL",
  productId: "Product id",
  productSalt: "Product fingerprint salt",
  publicKey: "Vendor's public key",
  proxy: "Proxy",
};

/** Settings: the license server, the product, a proxy, notifications, theme and support. */
export function SettingsView({ onSaved, serverProblem }: { onSaved: (info: AppInfo) => void; serverProblem: string | null }) {
  const [saved, setSaved] = useState<Settings | null>(null);
  const [defaults, setDefaults] = useState<Settings | null>(null);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // A field's problems show once it was edited (or holds something): an empty form is
  // not a wall of red.
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());

  useEffect(() => {
    getSettings().then(
      (view) => {
        setSaved(view.settings);
        setDefaults(view.defaults);
        setDraft(view.settings);
        setProblems(view.problems);
        applyTheme(view.settings.theme);
      },
      (e: unknown) => {
        setError(toAppError(e));
        applyTheme("system");
      },
    );
  }, []);

  // Problems are checked by the Rust side as the user types (one rule book). Only the
  // answer about the latest draft counts.
  const checking = useRef(0);
  useEffect(() => {
    if (!draft) return;
    const timer = window.setTimeout(() => {
      const ticket = ++checking.current;
      checkSettings(draft).then(
        (found) => ticket === checking.current && setProblems(found),
        (e: unknown) => ticket === checking.current && setError(toAppError(e)),
      );
    }, 200);
    return () => window.clearTimeout(timer);
  }, [draft]);

  if (!draft || !saved || !defaults) {
    return (
      <section className="card">
        <h1>Settings</h1>
        {error ? (
          <div className="alert alert-error" role="alert">
            {error.message}
          </div>
        ) : (
          <p className="muted">Loading settings…</p>
        )}
      </section>
    );
  }

  const dirty = JSON.stringify(draft) !== JSON.stringify(saved);
  const blocked = problems.some((p) => p.blocking);
  const shownProblems = problems.filter((p) => touched.has(p.field) || draft[p.field as keyof Settings] !== "");
  const waiting = problems.filter((p) => p.blocking && !shownProblems.includes(p));
  const edit = (change: Partial<Settings>) => {
    setDraft({ ...draft, ...change });
    setTouched(new Set([...touched, ...Object.keys(change)]));
    setNotice(null);
    if (change.theme) applyTheme(change.theme);
  };

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!draft) return;
    setBusy(true);
    setError(null);
    try {
      const info = await saveSettings(draft);
      // What was saved, as Rust normalised it (trimmed, no trailing slash).
      const view = await getSettings();
      setSaved(view.settings);
      setDraft(view.settings);
      setTouched(new Set());
      setNotice(
        info.server.problem
          ? `Settings saved, but the license server cannot be used: ${info.server.problem}`
          : info.server.mode === "local"
            ? "Settings saved. The app uses its local demo server."
            : `Settings saved. The app now uses ${info.server.url ?? "your license server"}.`,
      );
      onSaved(info);
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  }

  function discard(to: Settings) {
    setDraft(to);
    setTouched(new Set());
    applyTheme(to.theme);
    setNotice(null);
    setError(null);
  }

  return (
    <>
      <form className="card settings" aria-labelledby="settings-heading" onSubmit={save} noValidate>
        <h1 id="settings-heading">Settings</h1>

        <fieldset>
          <legend>License server</legend>
          <label className="choice">
            <input
              type="radio"
              name="server"
              data-testid="server-local"
              checked={draft.localServer}
              onChange={() => edit({ localServer: true })}
            />
            <span>
              Local demo server
              <span className="hint block">Runs inside this app with demo data. For trying Licentric out.</span>
            </span>
          </label>
          <label className="choice">
            <input
              type="radio"
              name="server"
              data-testid="server-remote"
              checked={!draft.localServer}
              onChange={() => edit({ localServer: false })}
            />
            <span>
              My vendor's license server
              <span className="hint block">The address, product and public key come from your vendor.</span>
            </span>
          </label>

          {!draft.localServer && (
            <>
              <TextSetting
                field="serverUrl"
                label="Server URL"
                testId="server-url"
                draft={draft}
                edit={edit}
                problems={shownProblems}
                placeholder="https://licensing.example.com"
              >
                <TestConnection settings={draft} disabled={problems.some((p) => p.blocking && p.field === "serverUrl")} />
              </TextSetting>
              <TextSetting
                field="productId"
                label="Product id"
                testId="product-id"
                draft={draft}
                edit={edit}
                problems={shownProblems}
                placeholder="From your vendor, e.g. 293cd2c5-b863-4a15-…"
              />
              <TextSetting
                field="productSalt"
                label="Product fingerprint salt"
                testId="product-salt"
                draft={draft}
                edit={edit}
                problems={shownProblems}
              />
              <TextSetting
                field="publicKey"
                label="Vendor's public key (JWKS)"
                testId="public-key"
                draft={draft}
                edit={edit}
                problems={shownProblems}
                placeholder='{"keys": [{"kty": "OKP", "crv": "Ed25519", …}]}'
                multiline
              />
            </>
          )}
        </fieldset>

        {!draft.localServer && (
          <fieldset>
            <legend>Network</legend>
            <TextSetting
              field="proxy"
              label="Proxy"
              testId="proxy"
              draft={draft}
              edit={edit}
              problems={shownProblems}
              placeholder="http://proxy.example.com:3128"
              hint="Leave empty to use the system's proxy settings."
            />
          </fieldset>
        )}

        <fieldset>
          <legend>Notifications and appearance</legend>
          <label className="choice">
            <input
              type="checkbox"
              data-testid="notifications"
              checked={draft.notifications}
              onChange={(e) => edit({ notifications: e.target.checked })}
            />
            <span>
              Notify me when the license is about to expire or its grace period runs low
            </span>
          </label>
          <label htmlFor="theme">Theme</label>
          <select
            id="theme"
            data-testid="theme"
            className="text-input narrow"
            value={draft.theme}
            onChange={(e) => edit({ theme: e.target.value as Theme })}
          >
            {THEMES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </fieldset>

        {error && (
          <div className="alert alert-error" role="alert" data-testid="settings-error">
            {error.message}
          </div>
        )}
        {notice && (
          <div className="alert alert-ok" role="status" data-testid="settings-saved">
            {notice}
          </div>
        )}
        <div className="row end">
          {waiting.length > 0 && (
            <span className="hint" data-testid="settings-incomplete">
              To save, fill in: {waiting.map((p) => FIELD_NAMES[p.field] ?? p.field).join(", ")}.
            </span>
          )}
          <button type="button" className="button link" onClick={() => discard(defaults)} disabled={busy}>
            Reset to defaults
          </button>
          <button type="button" className="button" onClick={() => discard(saved)} disabled={busy || !dirty}>
            Discard changes
          </button>
          <button
            type="submit"
            className="button primary"
            data-testid="save-settings"
            disabled={busy || blocked || (!dirty && !serverProblem)}
            title={!dirty && serverProblem ? "Save again to retry the connection" : undefined}
          >
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
      <DiagnosticsCard />
    </>
  );
}

/** A text setting with its label, its problems (tied to it for screen readers) and, in a
 * row beside it, any `children` (the Test connection button). */
function TextSetting(props: {
  field: "serverUrl" | "productId" | "productSalt" | "publicKey" | "proxy";
  label: string;
  testId: string;
  draft: Settings;
  edit: (change: Partial<Settings>) => void;
  problems: FieldProblem[];
  placeholder?: string;
  hint?: string;
  multiline?: boolean;
  children?: ReactNode;
}) {
  const mine = props.problems.filter((p) => p.field === props.field);
  const input = {
    id: props.field,
    "data-testid": props.testId,
    value: props.draft[props.field],
    placeholder: props.placeholder,
    spellCheck: false,
    "aria-invalid": mine.some((p) => p.blocking),
    "aria-describedby": mine.length > 0 ? `${props.field}-problems` : undefined,
  };
  const control = props.multiline ? (
    <textarea {...input} rows={3} onChange={(e) => props.edit({ [props.field]: e.target.value })} />
  ) : (
    <input {...input} className="text-input" onChange={(e) => props.edit({ [props.field]: e.target.value })} />
  );
  return (
    <div className="field">
      <label htmlFor={props.field}>{props.label}</label>
      {props.children ? (
        <div className="key-row">
          {control}
          {props.children}
        </div>
      ) : (
        control
      )}
      {props.hint && mine.length === 0 && <p className="hint">{props.hint}</p>}
      <div id={`${props.field}-problems`} aria-live="polite">
        {mine.map((p) => (
          <p key={p.message} className={p.blocking ? "field-problem error" : "field-problem warning"} data-testid={`problem-${props.field}`}>
            {p.message}
          </p>
        ))}
      </div>
    </div>
  );
}

function TestConnection({ settings, disabled }: { settings: Settings; disabled: boolean }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ConnectionTest | AppError | null>(null);
  const key = `${settings.serverUrl}|${settings.proxy}`;
  const [testedKey, setTestedKey] = useState(key);

  async function run() {
    setBusy(true);
    setResult(null);
    setTestedKey(key);
    try {
      setResult(await testConnection(settings));
    } catch (e) {
      setResult(toAppError(e));
    } finally {
      setBusy(false);
    }
  }

  // A result is about the address it tested; editing the address clears it.
  const shown = testedKey === key ? result : null;
  return (
    <>
      <button type="button" className="button" data-testid="test-connection" onClick={run} disabled={busy || disabled}>
        {busy ? "Testing…" : "Test connection"}
      </button>
      {shown && (
        <p
          className={`connection-result ${"code" in shown ? "error" : shown.warning ? "warning" : "ok"}`}
          data-testid="connection-result"
          role="status"
        >
          {shown.message}
        </p>
      )}
    </>
  );
}

function DiagnosticsCard() {
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<Diagnostics | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [copied, setCopied] = useState(false);

  async function run() {
    setBusy(true);
    setError(null);
    setCopied(false);
    try {
      setReport(await exportDiagnostics());
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="diagnostics-heading">
      <div className="card-head">
        <div>
          <h2 id="diagnostics-heading">Help from support</h2>
          <p className="muted small">
            A diagnostics report holds versions, platform, a hash of this machine's fingerprint, the license status and recent errors. It never holds your license key or any other secret.
          </p>
        </div>
        <button type="button" className="button" data-testid="export-diagnostics" onClick={run} disabled={busy}>
          {busy ? "Collecting…" : "Export diagnostics"}
        </button>
      </div>
      {error && (
        <div className="alert alert-error" role="alert">
          {error.message}
        </div>
      )}
      {report && (
        <>
          <label htmlFor="diagnostics-text">Diagnostics report</label>
          <textarea id="diagnostics-text" data-testid="diagnostics-text" rows={8} readOnly value={report.text} />
          <div className="row">
            <button type="button" className="button" onClick={async () => setCopied(await copyText(report.text, "diagnostics-text"))}>
              {copied ? "Copied" : "Copy"}
            </button>
            {report.savedTo && (
              <span className="hint" data-testid="diagnostics-saved">
                Also saved as <code>{report.savedTo}</code>
              </span>
            )}
          </div>
        </>
      )}
    </section>
  );
}
