// Connections: the local server (ready out of the box) and the vendor's own servers. A new
// connection's API key is checked by its server, then kept in the OS keyring; this screen
// only ever sees the key's masked prefix and scopes.
import { useEffect, useState, type FormEvent } from "react";
import {
  addConsoleConnection,
  consoleConnections,
  removeConsoleConnection,
  switchConsoleConnection,
} from "../../../api/console/connections";
import type { ConsoleConnection } from "../../../bindings/ConsoleConnection";
import type { ConsoleSession } from "../../../bindings/ConsoleSession";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { Field, fieldProblem, FormError } from "../../../components/Field";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";

export function ConnectionsView(props: { session: ConsoleSession | null; onSession: (s: ConsoleSession) => void }) {
  const list = useLoad(consoleConnections, props.session?.connection.id ?? "");
  const toast = useToast();
  const choose = useCommand(switchConsoleConnection);
  const remove = useCommand(removeConsoleConnection);
  const [removing, setRemoving] = useState<ConsoleConnection | null>(null);

  async function use(connection: ConsoleConnection) {
    const session = await choose.run(connection.id);
    if (session) {
      props.onSession(session);
      toast({ message: `Now managing ${connection.name}.` });
    }
  }

  return (
    <section className="console-page" data-testid="connections-view">
      <header className="page-header">
        <div>
          <h1>Connections</h1>
          <p className="muted">
            The license servers this console manages. API keys are kept in your system keyring and never shown
            again.
          </p>
        </div>
      </header>
      {props.session && (
        <div className="card session-card" data-testid="current-session">
          <h2>In use: {props.session.connection.name}</h2>
          <dl className="facts">
            <dt>Server</dt>
            <dd>{props.session.connection.url}</dd>
            <dt>Environment</dt>
            <dd>{props.session.key.environment === "live" ? "Live" : "Test (sandbox)"}</dd>
            <dt>API key</dt>
            <dd>
              <code data-testid="session-key-prefix">{props.session.key.displayPrefix}…</code> “{props.session.key.name}”
            </dd>
            <dt>Scopes</dt>
            <dd className="scopes" data-testid="session-scopes">
              {props.session.key.scopes.map((scope) => (
                <span key={scope} className="chip">
                  {scope}
                </span>
              ))}
            </dd>
          </dl>
        </div>
      )}
      {(list.error || choose.error || remove.error) && (
        <div className="alert alert-error" role="alert" data-testid="connections-error">
          {(choose.error ?? remove.error ?? list.error)?.message}
        </div>
      )}
      <div className="card">
        <h2>Saved connections</h2>
        <ul className="connection-list">
          {(list.data ?? []).map((connection) => (
            <li key={connection.id} className="connection" data-testid="connection" data-connection-id={connection.id}>
              <div>
                <strong>{connection.name}</strong>
                {connection.local && <span className="chip">built in</span>}
                {connection.id === props.session?.connection.id && <span className="chip chip-ok">in use</span>}
                <div className="muted small">{connection.url ?? "not running (turn the local server on in Settings)"}</div>
              </div>
              <div className="row-actions">
                {connection.id !== props.session?.connection.id && (
                  <button
                    type="button"
                    className="button small"
                    data-testid="use-connection"
                    disabled={choose.busy}
                    onClick={() => void use(connection)}
                  >
                    Use
                  </button>
                )}
                {!connection.local && (
                  <button type="button" className="button small danger-text" onClick={() => setRemoving(connection)}>
                    Remove
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      </div>
      <AddConnection
        onAdded={(session) => {
          props.onSession(session);
          list.reload();
          toast({ message: `Connected to ${session.connection.name}.` });
        }}
      />
      {removing && (
        <ConfirmDialog
          title={`Remove “${removing.name}”?`}
          body="The console forgets this server and deletes its API key from your keyring. The key itself keeps working on the server until it is revoked there."
          confirmLabel="Remove connection"
          busy={remove.busy}
          onCancel={() => setRemoving(null)}
          onConfirm={async () => {
            const left = await remove.run(removing.id);
            setRemoving(null);
            if (left) {
              list.setData(left);
              toast({ message: `Removed ${removing.name}.` });
            }
          }}
        />
      )}
    </section>
  );
}

function AddConnection(props: { onAdded: (session: ConsoleSession) => void }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [apiKey, setApiKey] = useState("");
  const add = useCommand(addConsoleConnection);
  const problem = add.error?.code === "invalid_input" ? add.error.message : null;

  const { clearError } = add;
  useEffect(() => clearError(), [name, url, apiKey, clearError]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const session = await add.run({ name, url, apiKey });
    if (session) {
      // The key now lives in the keyring only; forget this screen's copy at once.
      setApiKey("");
      setName("");
      setUrl("");
      props.onAdded(session);
    }
  }

  return (
    <form className="card form" onSubmit={submit} data-testid="add-connection">
      <h2>Add a connection</h2>
      <p className="muted">
        A license server you run (or a second account on it): its address and an API key created there. The key
        is checked with the server before anything is saved.
      </p>
      <div className="form-grid">
        <Field label="Name" help="How this console names it, e.g. Production.">
          <input data-testid="connection-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
        </Field>
        <Field label="Server URL" help="E.g. https://licenses.example.com" problem={fieldProblem(add.error, "url")}>
          <input
            data-testid="connection-url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="https://"
            spellCheck={false}
          />
        </Field>
        <Field label="API key" help="Starts with lk_live_ or lk_test_. Stored in your system keyring only.">
          <input
            data-testid="connection-key"
            type="password"
            autoComplete="off"
            value={apiKey}
            onChange={(e) => setApiKey(e.target.value)}
            spellCheck={false}
          />
        </Field>
      </div>
      {problem ? (
        <div className="alert alert-error" role="alert" data-testid="form-error">
          {problem}
        </div>
      ) : (
        <FormError error={add.error} />
      )}
      <div className="form-actions">
        <button
          type="submit"
          className="button primary"
          data-testid="add-connection-submit"
          disabled={add.busy || !name.trim() || !url.trim() || !apiKey.trim()}
        >
          {add.busy ? "Checking the key…" : "Connect"}
        </button>
      </div>
    </form>
  );
}
