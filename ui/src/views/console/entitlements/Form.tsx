// Creating an entitlement (code and name), and editing its name or deleting it in a dialog.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { createEntitlement, deleteEntitlement, updateEntitlement } from "../../../api/console/entitlements";
import type { Entitlement } from "../../../bindings/Entitlement";
import { Field, fieldProblem } from "../../../components/Field";
import { useToast } from "../../../components/Toasts";
import { useCommand } from "../../../hooks/useCommand";
import { FormProblems } from "../catalog";

export function NewEntitlementForm(props: { onDone: (created: boolean) => void }) {
  const toast = useToast();
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const create = useCommand(() => createEntitlement({ code, name: name.trim() || null }));
  async function submit(event: FormEvent) {
    event.preventDefault();
    const created = await create.run();
    if (created) {
      toast({ message: `Created ${created.code}.` });
      props.onDone(true);
    }
  }
  return (
    <form className="card form" onSubmit={submit} noValidate data-testid="entitlement-form">
      <h2>New entitlement</h2>
      <div className="form-grid">
        <Field
          label="Code"
          help="What your app asks for: 1–64 of a–z, 0–9, _ . - starting with a letter. It cannot be changed later."
          problem={fieldProblem(create.error, "code")}
        >
          <input data-testid="entitlement-code" value={code} onChange={(e) => setCode(e.target.value)} spellCheck={false} autoFocus />
        </Field>
        <Field label="Name" help="What people read, e.g. Export to PDF. Defaults to the code." problem={fieldProblem(create.error, "name")}>
          <input data-testid="entitlement-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      </div>
      <FormProblems error={create.error} fields={["code", "name"]} />
      <div className="form-actions">
        <button type="button" className="button" onClick={() => props.onDone(false)}>
          Cancel
        </button>
        <button type="submit" className="button primary" data-testid="entitlement-submit" disabled={create.busy}>
          {create.busy ? "Creating…" : "Create entitlement"}
        </button>
      </div>
    </form>
  );
}

export function EditEntitlement(props: { entitlement: Entitlement; onDone: (changed: boolean) => void }) {
  const { entitlement, onDone } = props;
  const toast = useToast();
  const [name, setName] = useState(entitlement.name);
  const [deleting, setDeleting] = useState(false);
  const save = useCommand(() => updateEntitlement(entitlement.id, { name }));
  const remove = useCommand(() => deleteEntitlement(entitlement.id));
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const error = save.error ?? remove.error;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await save.run()) {
      toast({ message: `Saved ${entitlement.code}.` });
      onDone(true);
    }
  }
  return (
    <div className="backdrop" onKeyDown={(e) => e.key === "Escape" && onDone(false)}>
      <form className="dialog form" role="dialog" aria-modal="true" aria-labelledby="entitlement-title" onSubmit={submit} noValidate>
        <h2 id="entitlement-title">
          Entitlement <code>{entitlement.code}</code>
        </h2>
        <Field label="Name" problem={fieldProblem(save.error, "name")}>
          <input ref={input} data-testid="entitlement-edit-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        {deleting && (
          <p className="scope-note">
            Delete <code>{entitlement.code}</code> for good? Apps asking for it will be told the license lacks it. Policies
            and licenses that carry it lose it.
          </p>
        )}
        {remove.error ? (
          <div className="alert alert-error" role="alert" data-testid="delete-error">
            Not deleted: {remove.error.message}
          </div>
        ) : (
          <FormProblems error={error} fields={["name"]} />
        )}
        <div className="dialog-actions">
          {deleting ? (
            <button
              type="button"
              className="button danger"
              data-testid="confirm-button"
              disabled={remove.busy}
              onClick={async () => {
                if ((await remove.run()) !== undefined) {
                  toast({ message: `Deleted ${entitlement.code}.` });
                  onDone(true);
                }
              }}
            >
              {remove.busy ? "Deleting…" : "Delete for good"}
            </button>
          ) : (
            <button type="button" className="button danger-text" data-testid="delete-entitlement" onClick={() => setDeleting(true)}>
              Delete…
            </button>
          )}
          <span style={{ flex: 1 }} />
          <button type="button" className="button" onClick={() => onDone(false)}>
            Cancel
          </button>
          <button type="submit" className="button primary" data-testid="entitlement-edit-save" disabled={save.busy || name === entitlement.name}>
            {save.busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </div>
  );
}
