// The vendor console: its own window, its own capability (only management commands), a
import { KeyMark } from "../../components/KeyMark";
// hash router, the connection in use with its environment band, and one area per route.
import { useCallback, useEffect, useRef, useState, type ComponentType, type ReactNode } from "react";
import { Link, Route, Router, Switch, useLocation } from "wouter";
import { useHashLocation } from "wouter/use-hash-location";
import { appInfo } from "../../api/app";
import { consoleSession } from "../../api/console/connections";
import type { AppError } from "../../api/invoke";
import type { AppInfo } from "../../bindings/AppInfo";
import type { ConsoleSession } from "../../bindings/ConsoleSession";
import { ToastProvider } from "../../components/Toasts";
import { useCommand } from "../../hooks/useCommand";
import { applyTheme } from "../../lib/theme";
import { ApiKeysRoutes } from "./apiKeys";
import { AuditRoutes } from "./audit";
import { ConnectionsView } from "./connections/ConnectionsView";
import { DashboardRoutes } from "./dashboard";
import { EntitlementsRoutes } from "./entitlements";
import { LicensesRoutes } from "./licenses";
import { MachinesRoutes } from "./machines";
import { PoliciesRoutes } from "./policies";
import { ProductsRoutes } from "./products";
import { SessionContext, hasScope } from "./session";
import { SigningKeysRoutes } from "./signingKeys";
import { SupportRoutes } from "./support";
import { WebhooksRoutes } from "./webhooks";

/** A console area: its place in the navigation, the scope its key needs (none for API
 * keys: the server shows a key only the keys within its own scopes), and its screens. */
type Area = { path: string; label: string; what: string; scope: string; testId: string; Screens: ComponentType };

const SECTIONS: Array<{ title: string; areas: Area[] }> = [
  {
    title: "Overview",
    areas: [
      { path: "/", label: "Dashboard", what: "The dashboard", scope: "analytics:read", testId: "dashboard", Screens: DashboardRoutes },
    ],
  },
  {
    title: "Licensing",
    areas: [
      { path: "/licenses", label: "Licenses", what: "Licenses", scope: "licenses:read", testId: "licenses", Screens: LicensesRoutes },
      { path: "/machines", label: "Machines", what: "Machines", scope: "machines:read", testId: "machines", Screens: MachinesRoutes },
      { path: "/products", label: "Products", what: "Products", scope: "products:read", testId: "products", Screens: ProductsRoutes },
      { path: "/policies", label: "Policies", what: "Policies", scope: "policies:read", testId: "policies", Screens: PoliciesRoutes },
      {
        path: "/entitlements",
        label: "Entitlements",
        what: "Entitlements",
        scope: "entitlements:read",
        testId: "entitlements",
        Screens: EntitlementsRoutes,
      },
    ],
  },
  {
    title: "Support",
    areas: [
      { path: "/support", label: "Support desk", what: "The support desk", scope: "licenses:write", testId: "support", Screens: SupportRoutes },
    ],
  },
  {
    title: "Developers",
    areas: [
      { path: "/api-keys", label: "API keys", what: "API keys", scope: "", testId: "api-keys", Screens: ApiKeysRoutes },
      { path: "/webhooks", label: "Webhooks", what: "Webhooks", scope: "webhooks:read", testId: "webhooks", Screens: WebhooksRoutes },
      {
        path: "/signing-keys",
        label: "Signing keys",
        what: "Signing keys",
        scope: "products:read",
        testId: "signing-keys",
        Screens: SigningKeysRoutes,
      },
      { path: "/audit", label: "Audit log", what: "The audit log", scope: "events:read", testId: "audit", Screens: AuditRoutes },
    ],
  },
];

const AREAS = SECTIONS.flatMap((section) => section.areas);

export function ConsoleApp() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [session, setSession] = useState<ConsoleSession | null>(null);
  const open = useCommand(consoleSession);
  const { run } = open;
  const reconnect = useCallback(() => {
    void run().then((next) => next && setSession(next));
  }, [run]);

  useEffect(() => {
    document.title = "Licentric — Vendor console";
    appInfo().then((next) => {
      setInfo(next);
      applyTheme(next.theme);
    }, () => applyTheme("system"));
    reconnect();
  }, [reconnect]);

  return (
    <ToastProvider>
      <Router hook={useHashLocation}>
        <Shell info={info} session={session} error={open.error} busy={open.busy} onSession={setSession} />
      </Router>
    </ToastProvider>
  );
}

function Shell(props: {
  info: AppInfo | null;
  session: ConsoleSession | null;
  error: AppError | null;
  busy: boolean;
  onSession: (session: ConsoleSession) => void;
}) {
  const { session } = props;
  const environment = session?.key.environment;
  // When a new screen replaced what had the focus (a row opened, a deleted item), the
  // focus goes to the top of the new screen, not back to the window's first link.
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    const frame = requestAnimationFrame(() => {
      const active = document.activeElement;
      if (!active || active === document.body) main.current?.focus({ preventScroll: true });
    });
    return () => cancelAnimationFrame(frame);
  }, [location]);
  return (
    <div className="console" data-environment={environment ?? "none"}>
      <EnvironmentBand session={session} />
      <div className="console-body">
        <nav className="console-nav" aria-label="Console">
          <div className="brand console-brand">
            <KeyMark />
            <span className="brand-name">Licentric</span>
            <span className="muted small">Console</span>
          </div>
          {SECTIONS.map((section) => (
            <div key={section.title} className="nav-section">
              <p className="nav-title">{section.title}</p>
              {section.areas.map((area) => (
                <NavItem key={area.path} area={area} session={session} />
              ))}
            </div>
          ))}
          <div className="nav-section nav-bottom">
            <NavItem
              area={{ path: "/connections", label: "Connections", scope: "", testId: "connections" }}
              session={session}
            />
          </div>
        </nav>
        <main className="console-main" ref={main} tabIndex={-1}>
          {props.error && !session && (
            <div className="alert alert-error" role="alert" data-testid="session-error">
              {props.error.message}
            </div>
          )}
          <Routes session={session} busy={props.busy} onSession={props.onSession} />
        </main>
      </div>
    </div>
  );
}

function Routes(props: { session: ConsoleSession | null; busy: boolean; onSession: (s: ConsoleSession) => void }) {
  const connections = <ConnectionsView session={props.session} onSession={props.onSession} />;
  if (!props.session) {
    // Without a working connection only Connections can help.
    return props.busy ? <p className="muted">Connecting…</p> : connections;
  }
  return (
    <SessionContext.Provider value={props.session}>
      <Switch>
        <Route path="/connections">{connections}</Route>
        {AREAS.map(({ path, scope, what, Screens }) => (
          // The dashboard's "/" is one screen; every other area nests its own routes.
          <Route key={path} path={path} nest={path !== "/"}>
            <Gate scope={scope} what={what}>
              <Screens />
            </Gate>
          </Route>
        ))}
        <Route>
          <section className="console-page">
            <h1>Not found</h1>
            <p>
              There is no such screen. <Link href="/">Go to the dashboard</Link>.
            </p>
          </section>
        </Route>
      </Switch>
    </SessionContext.Provider>
  );
}

/** An area the key's scopes do not allow says so instead of failing on every call. */
function Gate(props: { scope: string; what: string; children: ReactNode }) {
  return (
    <SessionContext.Consumer>
      {(session) =>
        session && (!props.scope || hasScope(session, props.scope)) ? (
          props.children
        ) : (
          <section className="console-page">
            <h1>{props.what}</h1>
            <p className="scope-note" data-testid="scope-note">
              {props.what} {props.what.endsWith("s") ? "are" : "is"} hidden: this connection's API key lacks the{" "}
              <code>{props.scope}</code> scope. Choose a connection whose key has it in{" "}
              <Link href="/connections">Connections</Link>, or ask the account's owner for such a key.
            </p>
          </section>
        )
      }
    </SessionContext.Consumer>
  );
}

function NavItem(props: { area: Pick<Area, "path" | "label" | "scope" | "testId">; session: ConsoleSession | null }) {
  const [location] = useLocation();
  const { area, session } = props;
  const active = area.path === "/" ? location === "/" : location === area.path || location.startsWith(`${area.path}/`);
  const allowed = !area.scope || (session !== null && hasScope(session, area.scope));
  return (
    <Link
      href={area.path}
      className={["nav-item", active ? "active" : "", allowed ? "" : "nav-locked"].join(" ")}
      aria-current={active ? "page" : undefined}
      data-testid={`nav-${area.testId}`}
      title={allowed ? undefined : `Needs the ${area.scope} scope`}
      onClick={forgetFilterLink}
    >
      {area.label}
      {!allowed && session && (
        <span className="nav-lock" aria-label={`needs ${area.scope}`}>
          locked
        </span>
      )}
    </Link>
  );
}

/** A link with filters (`?status=…#/licenses`, from the dashboard) leaves its query in the
 * address; the navigation starts an area afresh, so it drops that query first. */
function forgetFilterLink() {
  if (window.location.search) {
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.hash);
  }
}

/** Live or test, unmistakable on every screen: a coloured band with the connection. */
function EnvironmentBand(props: { session: ConsoleSession | null }) {
  const { session } = props;
  if (!session) {
    return (
      <div className="env-band env-none" data-testid="env-band">
        Not connected
      </div>
    );
  }
  const live = session.key.environment === "live";
  return (
    <div className={live ? "env-band env-live" : "env-band env-test"} data-testid="env-band" role="note">
      <strong className="env-label" data-testid="env-label">
        {live ? "LIVE" : "TEST"}
      </strong>
      <span>
        {live ? "Real customers: changes take effect at once." : "Sandbox data: nothing here reaches customers."}
      </span>
      <span className="env-connection" data-testid="env-connection">
        {session.connection.name} · {session.connection.url} · key {session.key.displayPrefix}…
      </span>
      <Link href="/connections" className="env-switch">
        Switch
      </Link>
    </div>
  );
}
