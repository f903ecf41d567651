import { useEffect, useState } from "react";
import { KeyMark } from "../../components/KeyMark";
import { appInfo, openConsole } from "../../api/app";
import type { AppError } from "../../api/invoke";
import type { AppInfo } from "../../bindings/AppInfo";
import { LicenseView } from "./LicenseView";
import { OfflineWizard } from "./OfflineWizard";
import { SettingsView } from "./SettingsView";

type Tab = "license" | "offline" | "settings";

const TABS: Array<{ id: Tab; label: string }> = [
  { id: "license", label: "License" },
  { id: "offline", label: "Offline activation" },
  { id: "settings", label: "Settings" },
];

export function EndUserApp() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [tab, setTab] = useState<Tab>("license");
  // Bumped when Settings switch the server, so the License view checks afresh.
  const [connection, setConnection] = useState(0);

  useEffect(() => {
    // The theme is applied by the Settings view, which is always mounted.
    appInfo().then(setInfo, setError);
  }, []);

  function switched(next: AppInfo) {
    // A new server (or a server that failed before) means a fresh license check.
    if (JSON.stringify(next.server) !== JSON.stringify(info?.server)) setConnection((n) => n + 1);
    setInfo(next);
    setError(null);
  }

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <KeyMark />
          <span className="brand-name">Licentric</span>
        </div>
        <nav className="tabs" aria-label="Views">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              className={tab === t.id ? "tab active" : "tab"}
              aria-current={tab === t.id ? "page" : undefined}
              data-testid={`tab-${t.id}`}
              onClick={() => setTab(t.id)}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <div className="topbar-end">
          <ServerBadge info={info} />
          <button
            type="button"
            className="button small"
            data-testid="open-console"
            title="Manage products, licenses and customers in the vendor console (its own window)"
            onClick={() => openConsole().catch(setError)}
          >
            Vendor console
          </button>
        </div>
      </header>
      <main className="content">
        {error && (
          <div className="alert alert-error" role="alert">
            {error.message}
          </div>
        )}
        {info?.settingsProblem && (
          <div className="alert alert-warn" role="alert" data-testid="settings-problem">
            {info.settingsProblem}
          </div>
        )}
        {info?.server.problem && tab !== "settings" && (
          <div className="alert alert-error" role="alert" data-testid="server-problem">
            {info.server.problem}{" "}
            <button type="button" className="button link" onClick={() => setTab("settings")}>
              Open Settings
            </button>
          </div>
        )}
        {tab === "license" && <LicenseView key={connection} demoKey={info?.server.demoLicenseKey ?? null} />}
        {tab === "offline" && <OfflineWizard key={connection} onDone={() => setTab("license")} />}
        {/* Kept mounted, so a half-edited form survives a look at the License view. */}
        <div hidden={tab !== "settings"}>
          <SettingsView onSaved={switched} serverProblem={info?.server.problem ?? null} />
        </div>
      </main>
      <footer className="footer">{info ? `Licentric ${info.version}` : " "}</footer>
    </div>
  );
}

function ServerBadge({ info }: { info: AppInfo | null }) {
  if (!info)
    return (
      <span className="server-badge">
        <span className="server-label">Connecting…</span>
      </span>
    );
  const { server } = info;
  if (server.problem) {
    return (
      <span className="server-badge server-badge-error" data-testid="server-badge" title={server.problem}>
        <span className="server-label">Server unavailable</span>
      </span>
    );
  }
  // Only the local server is known to be up: it runs inside the app.
  const local = server.mode === "local";
  return (
    <span className="server-badge" data-testid="server-badge" title={server.url ?? ""}>
      <span className="server-label">
        {local && <span className="dot" aria-hidden="true" />}
        {local ? "Local demo server" : "License server"}
      </span>
      <span className="server-url">{server.url}</span>
    </span>
  );
}
