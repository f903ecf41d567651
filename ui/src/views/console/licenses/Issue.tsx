// Issuing licenses: one (then its page), or many of one policy at once with a progress
// bar and Cancel, their keys saved as a CSV file to hand on. What was typed stays when a
// call fails.
import { useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import { cancelConsoleJob, createLicense, issueLicenses } from "../../../api/console/licenses";
import type { IssuedLicenses } from "../../../bindings/IssuedLicenses";
import type { IssueProgress } from "../../../bindings/IssueProgress";
import { Field, fieldProblem, FormError } from "../../../components/Field";
import { useToast } from "../../../components/Toasts";
import { useCommand } from "../../../hooks/useCommand";
import { useCatalog } from "./catalog";
import { buildMetadata, jobId } from "./helpers";

type Expiry = "policy" | "never" | "date";

export function IssueLicenses() {
  const [, navigate] = useLocation();
  const toast = useToast();
  const catalog = useCatalog();
  const [mode, setMode] = useState<"one" | "many">("one");
  const [policyId, setPolicyId] = useState("");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [extra, setExtra] = useState("");
  const [expiry, setExpiry] = useState<Expiry>("policy");
  const [date, setDate] = useState("");
  const [count, setCount] = useState("50");
  const [problems, setProblems] = useState<Record<string, string>>({});
  // A field's problem goes once the vendor changes that field.
  const edited = (field: string, change: () => void) => {
    change();
    setProblems((all) => (field in all ? Object.fromEntries(Object.entries(all).filter(([f]) => f !== field)) : all));
  };
  const [progress, setProgress] = useState<IssueProgress | null>(null);
  const [result, setResult] = useState<IssuedLicenses | null>(null);
  const job = useRef<string | null>(null);
  const one = useCommand(createLicense);
  const many = useCommand(issueLicenses);
  const error = one.error ?? many.error;

  const policy = catalog.policies.find((p) => p.id === policyId);
  const duration = policy?.duration
    ? `${Math.round(policy.duration / 86400)} days from today`
    : policy
      ? "never expires (the policy is perpetual)"
      : null;

  const check = (): { metadata: Record<string, string> | null } | null => {
    const found: Record<string, string> = {};
    if (!policyId) found.policyId = "Choose the policy the license follows.";
    const meta = buildMetadata(email, extra);
    if ("error" in meta) found[meta.field] = meta.error;
    if (mode === "one" && expiry === "date" && !date) found.expiresAt = "Pick the day it expires.";
    const n = Number(count);
    if (mode === "many" && (!Number.isInteger(n) || n < 1 || n > 10000)) {
      found.count = "Enter a whole number from 1 to 10,000.";
    }
    setProblems(found);
    if (Object.keys(found).length || "error" in meta) return null;
    return { metadata: meta.value };
  };

  const submit = async () => {
    const checked = check();
    if (!checked) return;
    setResult(null);
    if (mode === "one") {
      const license = await one.run({
        policyId,
        name: name.trim() || null,
        metadata: checked.metadata,
        entitlements: [],
        ...(expiry === "never" ? { expiresAt: null } : {}),
        ...(expiry === "date" ? { expiresAt: `${date}T23:59:59Z` } : {}),
      });
      if (license) {
        toast({ message: `License ${license.key} issued.` });
        navigate(`/${license.id}`);
      }
      return;
    }
    const id = jobId();
    job.current = id;
    setProgress({ issued: 0, total: Number(count) });
    const answer = await many.run(
      { policyId, count: Number(count), name: name.trim() || null, metadata: checked.metadata },
      id,
      setProgress,
    );
    job.current = null;
    setProgress(null);
    if (answer) setResult(answer);
  };

  const shown = (field: string, ...server: string[]) => problems[field] ?? fieldProblem(error, field, ...server);
  const running = many.busy && progress !== null;
  const busy = one.busy || many.busy;

  return (
    <section className="console-page issue-page" data-testid="issue-page">
      <p className="breadcrumb">
        <Link href="/">Licenses</Link> › Issue
      </p>
      <header className="page-header">
        <div>
          <h1>Issue licenses</h1>
          <p className="muted">A license follows a policy (its product, machine limit and duration).</p>
        </div>
      </header>

      <div className="tabs lic-tabs" role="tablist" aria-label="How many">
        <button
          type="button"
          role="tab"
          aria-selected={mode === "one"}
          className={mode === "one" ? "tab active" : "tab"}
          data-testid="issue-mode-one"
          disabled={busy}
          onClick={() => setMode("one")}
        >
          One license
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={mode === "many"}
          className={mode === "many" ? "tab active" : "tab"}
          data-testid="issue-mode-many"
          disabled={busy}
          onClick={() => setMode("many")}
        >
          Many at once
        </button>
      </div>

      <form
        className="card form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="form-grid">
          <Field
            label="Policy"
            help={
              policy
                ? `${catalog.productName(policy.productId)} · ${
                    policy.maxMachines === null ? "unlimited machines" : `up to ${policy.maxMachines} machines`
                  }${policy.floating ? " (floating)" : ""}.`
                : "Sets the product, how many machines, and how long the license lasts."
            }
            problem={shown("policyId", "policy")}
          >
            <select data-testid="issue-policy" value={policyId} onChange={(e) => edited("policyId", () => setPolicyId(e.target.value))}>
              <option value="">Choose a policy…</option>
              {catalog.products.map((product) => (
                <optgroup key={product.id} label={product.name}>
                  {catalog.policies
                    .filter((p) => p.productId === product.id)
                    .map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.name}
                      </option>
                    ))}
                </optgroup>
              ))}
            </select>
          </Field>
          {mode === "many" && (
            <Field label="How many" help="From 1 to 10,000. Each gets its own key." problem={shown("count")}>
              <input
                type="number"
                min={1}
                max={10000}
                data-testid="issue-count"
                value={count}
                onChange={(e) => edited("count", () => setCount(e.target.value))}
              />
            </Field>
          )}
          <Field
            label={mode === "many" ? "Name (optional, the same on each)" : "Name (optional)"}
            help="Usually the customer or company; you can search by it."
            problem={shown("name")}
          >
            <input type="text" data-testid="issue-name" value={name} onChange={(e) => edited("name", () => setName(e.target.value))} />
          </Field>
          <Field
            label="Customer e-mail (optional)"
            help="Kept in the license's metadata, so you can find it by e-mail."
            problem={shown("email")}
          >
            <input type="email" data-testid="issue-email" value={email} onChange={(e) => edited("email", () => setEmail(e.target.value))} />
          </Field>
          {mode === "one" ? (
            <Field
              label="Expires"
              help={duration ? `“Policy's duration”: ${duration}.` : "Choose a policy to see how long its duration is."}
              problem={shown("expiresAt")}
            >
              <select data-testid="issue-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value as Expiry)}>
                <option value="policy">Policy's duration</option>
                <option value="never">Never (perpetual)</option>
                <option value="date">On a date…</option>
              </select>
            </Field>
          ) : (
            <div className="field">
              <p className="lic-label">Expires</p>
              <p className="muted small">
                {duration ? `Each license: ${duration}.` : "Each lasts its policy's duration (choose a policy)."}
              </p>
            </div>
          )}
          {mode === "one" && expiry === "date" && (
            <Field label="Expiry date" help="It stops validating at the end of that day (UTC)." problem={null}>
              <input type="date" data-testid="issue-date" value={date} onChange={(e) => edited("expiresAt", () => setDate(e.target.value))} />
            </Field>
          )}
        </div>
        <Field
          label="More metadata (optional)"
          help='One item per line, e.g. "order = A-1047". Searchable like the e-mail.'
          problem={shown("metadata")}
        >
          <textarea rows={3} data-testid="issue-metadata" value={extra} onChange={(e) => edited("metadata", () => setExtra(e.target.value))} />
        </Field>

        <FormError error={error} />
        {running && progress && (
          <div className="issue-progress" data-testid="issue-progress">
            <p>
              Issued <strong data-testid="issue-progress-count">{progress.issued.toLocaleString("en-US")}</strong> of{" "}
              {progress.total.toLocaleString("en-US")}…
            </p>
            <div
              className="progress"
              role="progressbar"
              aria-valuemin={0}
              aria-valuemax={progress.total}
              aria-valuenow={progress.issued}
              aria-label="Licenses issued"
            >
              <div className="progress-fill" style={{ width: `${(100 * progress.issued) / progress.total}%` }} />
            </div>
          </div>
        )}
        {result && <IssueResult result={result} />}
        <div className="form-actions">
          {running ? (
            <button
              type="button"
              className="button"
              data-testid="issue-cancel"
              onClick={() => job.current && void cancelConsoleJob(job.current)}
            >
              Cancel
            </button>
          ) : (
            <Link href="/" className="button">
              Back to licenses
            </Link>
          )}
          <button type="submit" className="button primary" data-testid="issue-submit" disabled={busy}>
            {busy
              ? "Issuing…"
              : mode === "one"
                ? "Issue license"
                : `Issue ${Number(count) > 0 ? Number(count).toLocaleString("en-US") : ""} licenses`}
          </button>
        </div>
      </form>
    </section>
  );
}

function IssueResult(props: { result: IssuedLicenses }) {
  const { result } = props;
  const complete = result.issued === result.total;
  return (
    <div className={complete ? "alert alert-ok" : "alert alert-warn"} role="status" data-testid="issue-result">
      <p>
        <strong>
          {complete
            ? `Issued ${result.issued.toLocaleString("en-US")} licenses.`
            : `Issued ${result.issued.toLocaleString("en-US")} of ${result.total.toLocaleString("en-US")} licenses${result.cancelled ? ": cancelled." : "."}`}
        </strong>
        {result.error && <> It stopped early: {result.error}</>}
      </p>
      {result.savedTo ? (
        <p>
          Their keys are saved in <code data-testid="issue-saved-to">{result.savedTo}</code> (columns id, key, name,
          expiresAt). Hand that file on; it is the easiest place to find the new keys.
        </p>
      ) : (
        result.issued > 0 && (
          <p>
            The keys could not be saved as a file. Find them in the license list (newest first) or export them from
            there.
          </p>
        )
      )}
      <Link href="/">See them in the list</Link>
    </div>
  );
}
