// One product: its facts, its policies, and the account's public keys (JWKS) to pin into
// the vendor's app so it can check license files and tokens offline.
import { useState } from "react";
import { Link, useLocation } from "wouter";
import { listPolicies } from "../../../api/console/policies";
import { accountJwks, deleteProduct, getProduct } from "../../../api/console/products";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { Loading } from "../../../components/EmptyState";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { CopyBox, PageHeader, When } from "../catalog";
import { Requires, useScope } from "../session";

export function ProductDetail(props: { id: string }) {
  const { id } = props;
  const [, navigate] = useLocation();
  const toast = useToast();
  const product = useLoad(() => getProduct(id), id);
  const remove = useCommand(() => deleteProduct(id));
  const [confirming, setConfirming] = useState(false);
  const canWrite = useScope("products:write");

  if (!product.data) {
    return (
      <section className="console-page">
        <PageHeader title="Product" crumb={{ href: "/", label: "Products" }} />
        {product.error ? (
          <div className="alert alert-error" role="alert" data-testid="product-error">
            {product.error.message}
          </div>
        ) : (
          <Loading what="the product" />
        )}
      </section>
    );
  }
  const p = product.data;
  return (
    <section className="console-page" data-testid="product-detail">
      <PageHeader
        title={p.name}
        crumb={{ href: "/", label: "Products" }}
        description={
          <>
            License keys start with <code>{p.keyPrefix}-</code>
          </>
        }
        actions={
          canWrite && (
            <>
              <Link href={`/${p.id}/edit`} className="button" data-testid="edit-product">
                Edit
              </Link>
              <button type="button" className="button danger-text" data-testid="delete-product" onClick={() => setConfirming(true)}>
                Delete…
              </button>
            </>
          )
        }
      />
      {remove.error && (
        <div className="alert alert-error" role="alert" data-testid="delete-error">
          {p.name} was not deleted: {remove.error.message}
        </div>
      )}
      <div className="detail-grid">
        <div className="card">
          <h2>Details</h2>
          <dl className="facts">
            <dt>Product id</dt>
            <dd>
              <code data-testid="product-id">{p.id}</code>
            </dd>
            <dt>Key prefix</dt>
            <dd>
              <code>{p.keyPrefix}</code>
            </dd>
            <dt>Signs with</dt>
            <dd>
              key <code>{p.signingKey.keyId}</code> (<Link href="~/signing-keys">signing keys</Link>)
            </dd>
            <dt>Created</dt>
            <dd>
              <When iso={p.createdAt} />
            </dd>
            <dt>Last changed</dt>
            <dd>
              <When iso={p.updatedAt} />
            </dd>
          </dl>
        </div>
        <Requires scope="policies:read" what="This product's policies">
          <ProductPolicies productId={p.id} />
        </Requires>
      </div>
      <Jwks jwksUrl={p.signingKey.jwksUrl} />
      {confirming && (
        <ConfirmDialog
          title={`Delete ${p.name}?`}
          body="The product and its policies are removed for good. The server refuses while the product still has licenses: revoke or delete them first (deleting a product never deletes licenses)."
          confirmLabel="Delete product"
          busy={remove.busy}
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            const done = await remove.run();
            setConfirming(false);
            if (done !== undefined) {
              toast({ message: `Deleted ${p.name}.` });
              navigate("/");
            }
          }}
        />
      )}
    </section>
  );
}

function ProductPolicies(props: { productId: string }) {
  const policies = useLoad(() => listPolicies({ limit: 100, filters: { productId: props.productId }, sort: "name" }), props.productId);
  const canWrite = useScope("policies:write");
  return (
    <div className="card" data-testid="product-policies">
      <div className="card-head">
        <h2>Policies</h2>
        {canWrite && (
          <Link href={`~/policies/new/${props.productId}`} className="button small" data-testid="new-policy-for-product">
            New policy
          </Link>
        )}
      </div>
      {policies.error && (
        <div className="alert alert-error" role="alert">
          {policies.error.message}
        </div>
      )}
      {policies.data && policies.data.data.length === 0 && (
        <p className="muted">No policies yet: a license needs a policy (its rules) before it can be issued.</p>
      )}
      <ul className="connection-list">
        {policies.data?.data.map((policy) => (
          <li key={policy.id} className="connection">
            <Link href={`~/policies/${policy.id}`}>{policy.name}</Link>
            <span className="muted small">
              {policy.floating ? `floating, ${policy.maxMachines ?? "unlimited"} machines` : "node-locked"}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Jwks(props: { jwksUrl: string }) {
  const jwks = useLoad(accountJwks, "jwks");
  const pretty = (() => {
    if (!jwks.data) return "";
    try {
      return JSON.stringify(JSON.parse(jwks.data), null, 2);
    } catch {
      return jwks.data;
    }
  })();
  return (
    <div className="card" data-testid="jwks-card">
      <h2>Public keys to pin in your app (JWKS)</h2>
      <p className="muted">
        Your app checks license files and validation tokens with these public keys, even offline. Paste this into
        your app (e.g. <code>LICENTRIC_PUBLIC_KEY</code>), or let it fetch <code>{props.jwksUrl}</code> from your
        server. It holds every key of the account, so files signed before a rotation stay valid. Public keys are
        safe to ship.
      </p>
      {jwks.error && (
        <div className="alert alert-error" role="alert">
          {jwks.error.message}
        </div>
      )}
      {jwks.data ? <CopyBox id="jwks-text" text={pretty} testId="jwks" rows={8} label="JWKS" /> : !jwks.error && <Loading what="the public keys" />}
    </div>
  );
}
