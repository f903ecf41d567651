import { useEffect, useState } from "react";
import { appInfo } from "./api/app";
import type { AppError } from "./api/invoke";
import type { AppInfo } from "./bindings/AppInfo";
import { LicenseView } from "./views/LicenseView";
import { OfflineWizard } from "./views/OfflineWizard";

type Tab = "license" | "offline";

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [tab, setTab] = useState<Tab>("license");

  useEffect(() => {
    appInfo().then(setInfo, setError);
  }, []);

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <KeyMark />
          <span className="brand-name">Licentric</span>
        </div>
        <nav className="tabs" aria-label="Views">
          <button type="button" className={tab === "license" ? "tab active" : "tab"} aria-current={tab === "license" ? "page" : undefined} data-testid="tab-license" onClick={() => setTab("license")}>
            License
          </button>
          <button type="button" className={tab === "offline" ? "tab active" : "tab"} aria-current={tab === "offline" ? "page" : undefined} data-testid="tab-offline" onClick={() => setTab("offline")}>
            Offline activation
          </button>
        </nav>
        <ServerBadge info={info} />
      </header>
      <main className="content">
        {error && (
          <div className="alert alert-error" role="alert">
            {error.message}
          </div>
        )}
        {tab === "license" ? (
          <LicenseView demoKey={info?.server.demoLicenseKey ?? null} />
        ) : (
          <OfflineWizard onDone={() => setTab("license")} />
        )}
      </main>
      <footer className="footer">{info ? `Licentric ${info.version}` : " "}</footer>
    </div>
  );
}

function ServerBadge({ info }: { info: AppInfo | null }) {
  if (!info) return <span className="server-badge">Connecting…</span>;
  const { server } = info;
  if (server.problem) {
    return (
      <span className="server-badge server-badge-error" data-testid="server-badge" title={server.problem}>
        Server unavailable
      </span>
    );
  }
  // Only the local server is known to be up: it runs inside the app.
  const local = server.mode === "local";
  return (
    <span className="server-badge" data-testid="server-badge" title={server.url ?? ""}>
      {local && <span className="dot" aria-hidden="true" />}
      {local ? "Local demo server" : "License server"}
      <span className="server-url">{server.url}</span>
    </span>
  );
}

function KeyMark() {
  return (
    <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" />
      <circle cx="11.5" cy="16" r="4.5" fill="none" strokeWidth="2.5" />
      <path d="M16 14.9h10v2.2h-2v3.4h-2.2v-3.4H16z" />
    </svg>
  );
}
