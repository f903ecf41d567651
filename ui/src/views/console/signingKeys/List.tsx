import { useEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { listSigningKeys, rotateSigningKey } from "../../../api/console/signingKeys";
import { EmptyState, Loading } from "../../../components/EmptyState";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { PageHeader, When } from "../catalog";
import { useScope } from "../session";

export function SigningKeyList() {
  const toast = useToast();
  const keys = useLoad(listSigningKeys, "keys");
  const rotate = useCommand(rotateSigningKey);
  const [confirming, setConfirming] = useState(false);
  const canRotate = useScope("products:write");
  const sorted = [...(keys.data ?? [])].sort((a, b) => Number(b.active) - Number(a.active) || b.createdAt.localeCompare(a.createdAt));

  return (
    <section className="console-page" data-testid="signing-keys-view">
      <PageHeader
        title="Signing keys"
        description="Licentric signs license files and validation tokens with the active key; your apps check them with its public half."
        actions={
          canRotate && (
            <button type="button" className="button" data-testid="rotate-signing-key" onClick={() => setConfirming(true)}>
              Rotate key…
            </button>
          )
        }
      />
      {rotate.error && (
        <div className="alert alert-error" role="alert" data-testid="signing-key-error">
          The key was not rotated: {rotate.error.message}
        </div>
      )}
      {keys.error && (
        <div className="alert alert-error" role="alert">
          {keys.error.message}
        </div>
      )}
      {!keys.data && !keys.error && <Loading what="signing keys" />}
      {keys.data && keys.data.length === 0 && <EmptyState title="No signing keys." />}
      {sorted.length > 0 && (
        <div className="data-table">
          <div className="table-scroll" style={{ minHeight: 0 }}>
            <table data-testid="signing-keys-table">
              <colgroup>
                <col style={{ width: "9rem" }} />
                <col style={{ width: "12rem" }} />
                <col />
                <col style={{ width: "12rem" }} />
                <col style={{ width: "12rem" }} />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Key id</th>
                  <th scope="col">Public key (Ed25519)</th>
                  <th scope="col">Created</th>
                  <th scope="col">Retired</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((key) => (
                  <tr key={key.keyId} data-testid="signing-key-row" data-active={key.active}>
                    <td>{key.active ? <span className="status-dot status-ok">Active</span> : <span className="status-dot status-muted">Retired</span>}</td>
                    <td>
                      <code data-testid="signing-key-id">{key.keyId}</code>
                    </td>
                    <td title={key.publicKey}>
                      <code className="mono-cell">{key.publicKey}</code>
                    </td>
                    <td>
                      <When iso={key.createdAt} />
                    </td>
                    <td>
                      <When iso={key.retiredAt} empty={key.active ? "in use" : "—"} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <p className="muted small">
        Retired keys stay in the account's JWKS, so what they signed stays verifiable. Copy the JWKS from any{" "}
        <Link href="~/products">product's page</Link>.
      </p>
      {confirming && (
        <RotateDialog
          busy={rotate.busy}
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            const key = await rotate.run();
            setConfirming(false);
            if (key) {
              toast({ message: `Rotated: ${key.keyId} now signs new files and tokens.` });
              keys.reload();
            }
          }}
        />
      )}
    </section>
  );
}

function RotateDialog(props: { busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <div className="backdrop" onKeyDown={(e) => e.key === "Escape" && props.onCancel()}>
      <div className="dialog wide" role="dialog" aria-modal="true" aria-labelledby="rotate-title" data-testid="confirm-dialog">
        <h2 id="rotate-title">Rotate the signing key?</h2>
        <p>A new key signs every license file and validation token from now on. What this means for apps already in the field:</p>
        <ul className="warning-list" data-testid="rotation-warning">
          <li>
            <strong>Apps that pinned only the old public key refuse the new files and tokens</strong> until you ship an
            update with the new JWKS. Customers of those apps cannot activate or refresh offline files meanwhile.
          </li>
          <li>Apps that fetch the JWKS from your server, or pinned the whole JWKS and get updates, keep working.</li>
          <li>
            Files and tokens signed before today stay verifiable: the old key stays in the JWKS as retired. Nothing
            already issued is revoked.
          </li>
          <li>This cannot be undone; rotate again for yet another key. Do it when a key may have leaked, or on a schedule.</li>
        </ul>
        <div className="dialog-actions">
          <button ref={cancel} type="button" className="button" onClick={props.onCancel} disabled={props.busy}>
            Cancel
          </button>
          <button type="button" className="button danger" data-testid="confirm-button" onClick={props.onConfirm} disabled={props.busy}>
            {props.busy ? "Rotating…" : "Rotate signing key"}
          </button>
        </div>
      </div>
    </div>
  );
}
