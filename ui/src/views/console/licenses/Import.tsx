// Importing licenses from a CSV file: the file is read here, checked by the server in a
// dry run (bad rows listed by line and reason, nothing written), and only a clean file can
// then be imported — in one transaction, all rows or none.
import { useState } from "react";
import { Link } from "wouter";
import { importLicenses } from "../../../api/console/licenses";
import type { ImportReport } from "../../../bindings/ImportReport";
import { useCommand } from "../../../hooks/useCommand";
import { useCatalog } from "./catalog";

const MAX_BYTES = 20 * 1024 * 1024;

export function ImportLicenses() {
  const [file, setFile] = useState<{ name: string; size: number; text: string } | null>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const [check, setCheck] = useState<ImportReport | null>(null);
  const [done, setDone] = useState<ImportReport | null>(null);
  const dryRun = useCommand((csv: string) => importLicenses(csv, true));
  const write = useCommand((csv: string) => importLicenses(csv, false));
  const catalog = useCatalog();
  const examplePolicy = catalog.policies[0]?.id ?? "<policy id>";

  const pick = async (picked: File | undefined) => {
    setCheck(null);
    setDone(null);
    setReadError(null);
    dryRun.clearError();
    write.clearError();
    if (!picked) {
      setFile(null);
      return;
    }
    if (picked.size > MAX_BYTES) {
      setFile(null);
      setReadError(`${picked.name} is ${(picked.size / 1048576).toFixed(1)} MB; the server takes files up to 20 MB. Split it into smaller files.`);
      return;
    }
    let text: string;
    try {
      text = await picked.text();
    } catch {
      setFile(null);
      setReadError(`${picked.name} could not be read. Check that the file is not open elsewhere, then pick it again.`);
      return;
    }
    setFile({ name: picked.name, size: picked.size, text });
    // Check at once: nothing is written by a dry run.
    const report = await dryRun.run(text);
    if (report) setCheck(report);
  };

  const runImport = async () => {
    if (!file) return;
    const report = await write.run(file.text);
    if (!report) return;
    if (report.problems.length) {
      // Something changed on the server since the check (e.g. a key now taken).
      setCheck(report);
    } else {
      setDone(report);
    }
  };

  const clean = check !== null && check.problems.length === 0 && check.rows > 0;
  const error = dryRun.error ?? write.error;

  return (
    <section className="console-page import-page" data-testid="import-page">
      <p className="breadcrumb">
        <Link href="/">Licenses</Link> › Import
      </p>
      <header className="page-header">
        <div>
          <h1>Import licenses from CSV</h1>
          <p className="muted">
            The file is checked first and nothing is written until every row is good; then all rows are imported at once.
          </p>
        </div>
      </header>

      <div className="card">
        <h2>1. Choose the file</h2>
        <p className="small">
          A header row, then one license per row. Columns: <code>policy</code> (the policy's id, required),{" "}
          <code>key</code> (empty: one is generated), <code>name</code>, <code>expiry</code> (<code>2027-06-30</code>
          ; empty: never expires), <code>metadata</code> (a JSON object), or <code>metadata.email</code>-style columns.
        </p>
        <pre className="lic-example">
          policy,name,expiry,metadata.email{"\n"}
          {examplePolicy},Acme Ltd,2027-06-30,ops@acme.example
        </pre>
        {catalog.policies.length > 0 && (
          <details className="lic-policies" data-testid="import-policy-ids">
            <summary>Your policies' ids, for the policy column</summary>
            <table className="lic-table">
              <tbody>
                {catalog.policies.map((p) => (
                  <tr key={p.id}>
                    <td>
                      {p.name} <span className="muted small">{catalog.productName(p.productId)}</span>
                    </td>
                    <td className="mono small">{p.id}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        )}
        <label className="lic-file">
          <span className="button">Choose CSV file…</span>
          <input
            type="file"
            accept=".csv,text/csv"
            data-testid="import-file"
            onChange={(e) => {
              const picked = e.target.files?.[0];
              // So choosing the same file again, once fixed, is noticed.
              e.target.value = "";
              void pick(picked);
            }}
          />
          <span className="muted" data-testid="import-file-name">
            {file ? `${file.name} (${(file.size / 1024).toFixed(1)} KB)` : "No file chosen"}
          </span>
        </label>
        {readError && (
          <div className="alert alert-error" role="alert">
            {readError}
          </div>
        )}
      </div>

      {(dryRun.busy || check || error) && (
        <div className="card" data-testid="import-check">
          <h2>2. Check</h2>
          {dryRun.busy && <p className="muted">Checking every row…</p>}
          {error && (
            <div className="alert alert-error" role="alert" data-testid="import-error">
              {error.message}
            </div>
          )}
          {check && check.problems.length > 0 && (
            <>
              <p className="alert alert-error" role="alert" data-testid="import-problems-summary">
                {check.problems.length} {check.problems.length === 1 ? "problem" : "problems"} in {check.rows}{" "}
                {check.rows === 1 ? "row" : "rows"}. Nothing was imported. Fix these lines in the file, then choose it
                again.
              </p>
              <table className="lic-table" data-testid="import-problems">
                <thead>
                  <tr>
                    <th scope="col">Line</th>
                    <th scope="col">Column</th>
                    <th scope="col">What is wrong</th>
                  </tr>
                </thead>
                <tbody>
                  {check.problems.map((p, i) => (
                    <tr key={`${p.line}-${i}`} data-testid="import-problem">
                      <td>{p.line}</td>
                      <td>{p.field ?? "—"}</td>
                      <td className="wrap">{p.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          {check && check.problems.length === 0 && !done && (
            <p className="alert alert-ok" data-testid="import-clean">
              {check.rows === 0
                ? "The file has no rows to import."
                : `All ${check.rows.toLocaleString("en-US")} rows are good. Nothing is written yet.`}
            </p>
          )}
        </div>
      )}

      {clean && file && (
        <div className="card">
          <h2>3. Import</h2>
          {done ? (
            <div className="alert alert-ok" role="status" data-testid="import-done">
              Imported {done.imported.toLocaleString("en-US")} licenses. <Link href="/">See them in the list</Link>.
            </div>
          ) : (
            <div className="form-actions lic-left">
              <button
                type="button"
                className="button primary"
                data-testid="import-run"
                disabled={write.busy}
                onClick={() => void runImport()}
              >
                {write.busy ? "Importing…" : `Import ${check.rows.toLocaleString("en-US")} licenses`}
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
