// Editing a license: its name, the customer's e-mail and other metadata, and its expiry.
// What was typed stays when the server refuses it; the server's problem shows at its field.
import { useState } from "react";
import { updateLicense } from "../../../api/console/licenses";
import type { License } from "../../../bindings/License";
import type { LicenseUpdate } from "../../../bindings/LicenseUpdate";
import { Field, fieldProblem, FormError } from "../../../components/Field";
import { useCommand } from "../../../hooks/useCommand";
import { buildMetadata, customerEmail, toDateInput } from "./helpers";

function metadataLines(license: License): string {
  return Object.entries(license.metadata ?? {})
    .filter(([name]) => name !== "email")
    .map(([name, value]) => `${name} = ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("\n");
}

export function EditLicense(props: { license: License; onSaved: (license: License) => void; onCancel: () => void }) {
  const { license } = props;
  const [name, setName] = useState(license.name ?? "");
  const [email, setEmail] = useState(customerEmail(license) ?? "");
  const [extra, setExtra] = useState(metadataLines(license));
  const [perpetual, setPerpetual] = useState(license.expiresAt === null);
  const [date, setDate] = useState(toDateInput(license.expiresAt ?? ""));
  const [problems, setProblems] = useState<Record<string, string>>({});
  // A field's problem goes once the vendor changes that field.
  const edited = (field: string, change: () => void) => {
    change();
    setProblems((all) => (field in all ? Object.fromEntries(Object.entries(all).filter(([f]) => f !== field)) : all));
  };
  const save = useCommand(updateLicense);

  const submit = async () => {
    const found: Record<string, string> = {};
    const metadataChanged = email !== (customerEmail(license) ?? "") || extra !== metadataLines(license);
    const meta = buildMetadata(email, extra);
    if ("error" in meta) found[meta.field] = meta.error;
    if (!perpetual && !date) found.expiresAt = "Pick the day it expires, or choose Never.";
    setProblems(found);
    if (Object.keys(found).length || "error" in meta) return;
    // An untouched expiry is sent back exactly as it was (not moved to the end of its day).
    const sameDay = !perpetual && license.expiresAt !== null && date === toDateInput(license.expiresAt);
    const update: LicenseUpdate = {
      name: name.trim() || null,
      expiresAt: perpetual ? null : sameDay ? license.expiresAt : `${date}T23:59:59Z`,
    };
    // Metadata is replaced as a whole: only when the vendor changed it (values that are not
    // text would otherwise come back as text).
    if (metadataChanged) update.metadata = meta.value ?? {};
    const saved = await save.run(license.id, update);
    if (saved) props.onSaved(saved);
  };

  const shown = (field: string, ...server: string[]) => problems[field] ?? fieldProblem(save.error, field, ...server);
  return (
    <form
      className="card form"
      data-testid="edit-license"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="card-head">
        <h2>Edit license</h2>
      </div>
      <div className="form-grid">
        <Field label="Name" help="Usually the customer or company." problem={shown("name")}>
          <input type="text" data-testid="edit-name" value={name} onChange={(e) => edited("name", () => setName(e.target.value))} />
        </Field>
        <Field label="Customer e-mail" help="Kept in the metadata; searchable." problem={shown("email")}>
          <input type="email" data-testid="edit-email" value={email} onChange={(e) => edited("email", () => setEmail(e.target.value))} />
        </Field>
        <Field
          label="Expires on"
          help={perpetual ? "Never expires." : "It stops validating at the end of that day (UTC)."}
          problem={shown("expiresAt")}
        >
          <input
            type="date"
            data-testid="edit-expiry"
            disabled={perpetual}
            value={date}
            onChange={(e) => edited("expiresAt", () => setDate(e.target.value))}
          />
        </Field>
      </div>
      <label className="check">
        <input type="checkbox" checked={perpetual} onChange={(e) => setPerpetual(e.target.checked)} />
        <span>Never expires (perpetual)</span>
      </label>
      <Field
        label="More metadata"
        help='One item per line, e.g. "order = A-1047".'
        problem={shown("metadata")}
      >
        <textarea rows={3} data-testid="edit-metadata" value={extra} onChange={(e) => edited("metadata", () => setExtra(e.target.value))} />
      </Field>
      <FormError error={save.error} />
      <div className="form-actions">
        <button type="button" className="button" onClick={props.onCancel} disabled={save.busy}>
          Cancel
        </button>
        <button type="submit" className="button primary" data-testid="edit-save" disabled={save.busy}>
          {save.busy ? "Saving…" : "Save changes"}
        </button>
      </div>
    </form>
  );
}
