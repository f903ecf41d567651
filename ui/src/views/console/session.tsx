// The console's connection in use, for every console view: which server, which
// environment, and what the key's scopes allow. The key itself never reaches the web view.
import { createContext, useContext, type ReactNode } from "react";
import type { ConsoleSession } from "../../bindings/ConsoleSession";

export const SessionContext = createContext<ConsoleSession | null>(null);

export function useSession(): ConsoleSession {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside the console");
  return session;
}

export function hasScope(session: ConsoleSession, scope: string): boolean {
  return session.key.scopes.includes(scope);
}

/** True when the key holds `scope`. */
export function useScope(scope: string): boolean {
  return hasScope(useSession(), scope);
}

/** Shows `children` when the key holds `scope`; otherwise says what is hidden and why. */
export function Requires(props: { scope: string; what: string; children: ReactNode; quiet?: boolean }) {
  const allowed = useScope(props.scope);
  if (allowed) return <>{props.children}</>;
  if (props.quiet) return null;
  return (
    <p className="scope-note" data-testid="scope-note">
      {props.what} is hidden: this connection's API key lacks the <code>{props.scope}</code> scope. Use a key that
      has it (Connections), or ask the account's owner for one.
    </p>
  );
}
