// Create or edit a product. What was typed stays when the server refuses it; its problem
// is shown at the field it names.
import { useState, type FormEvent } from "react";
import { useLocation } from "wouter";
import { createProduct, getProduct, updateProduct } from "../../../api/console/products";
import type { Product } from "../../../bindings/Product";
import { Loading } from "../../../components/EmptyState";
import { Field, fieldProblem } from "../../../components/Field";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { FormProblems, PageHeader } from "../catalog";
import { Requires } from "../session";

export function ProductForm(props: { id?: string }) {
  const { id } = props;
  const existing = useLoad(() => (id ? getProduct(id) : Promise.resolve(null)), id ?? "new");
  if (id && !existing.data) {
    return (
      <section className="console-page">
        <PageHeader title="Edit product" crumb={{ href: "/", label: "Products" }} />
        {existing.error ? (
          <div className="alert alert-error" role="alert">
            {existing.error.message}
          </div>
        ) : (
          <Loading what="the product" />
        )}
      </section>
    );
  }
  return (
    <Requires scope="products:write" what="Editing products">
      <ProductFormBody product={existing.data ?? null} />
    </Requires>
  );
}

function ProductFormBody(props: { product: Product | null }) {
  const { product } = props;
  const [, navigate] = useLocation();
  const toast = useToast();
  const [name, setName] = useState(product?.name ?? "");
  const [keyPrefix, setKeyPrefix] = useState(product?.keyPrefix ?? "");
  const save = useCommand((): Promise<Product> =>
    product
      ? updateProduct(product.id, {
          name: name !== product.name ? name : null,
          keyPrefix: keyPrefix !== product.keyPrefix ? keyPrefix : null,
        })
      : createProduct({ name, keyPrefix }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    const saved = await save.run();
    if (saved) {
      toast({ message: product ? `Saved ${saved.name}.` : `Created ${saved.name}.` });
      navigate(`/${saved.id}`);
    }
  }

  return (
    <section className="console-page" data-testid="product-form">
      <PageHeader
        title={product ? `Edit ${product.name}` : "New product"}
        crumb={product ? { href: `/${product.id}`, label: product.name } : { href: "/", label: "Products" }}
      />
      <form className="card form" onSubmit={submit} noValidate>
        <div className="form-grid">
          <Field label="Name" help="How you and your customers know it, e.g. Photo Studio Pro." problem={fieldProblem(save.error, "name")}>
            <input data-testid="product-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
          </Field>
          <Field
            label="License-key prefix"
            help={
              product
                ? "Starts every new license key. Keys already issued keep the prefix they have."
                : "Starts every license key of this product, e.g. PHOTO → PHOTO-XXXX-…: 2–12 capital letters or digits, starting with a letter."
            }
            problem={fieldProblem(save.error, "keyPrefix")}
          >
            <input
              data-testid="product-key-prefix"
              value={keyPrefix}
              onChange={(e) => setKeyPrefix(e.target.value.toUpperCase())}
              spellCheck={false}
              autoCapitalize="characters"
            />
          </Field>
        </div>
        <FormProblems error={save.error} fields={["name", "keyPrefix"]} />
        <div className="form-actions">
          <button type="button" className="button" onClick={() => navigate(product ? `/${product.id}` : "/")}>
            Cancel
          </button>
          <button type="submit" className="button primary" data-testid="product-submit" disabled={save.busy}>
            {save.busy ? "Saving…" : product ? "Save changes" : "Create product"}
          </button>
        </div>
      </form>
    </section>
  );
}
