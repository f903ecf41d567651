// The support desk: a customer's offline activation request in — pasted, as the request
// file, or as a photo or screenshot of its QR code (decoded in Rust) — what it asks for
// and every problem named before anything is issued, then the signed license file out,
// with what to tell the customer.
import { useEffect, useRef, useState, type DragEvent } from "react";
import { Link } from "wouter";
import { deleteMachine } from "../../../api/console/machines";
import { listProducts } from "../../../api/console/products";
import {
  issueOfflineLicense,
  readActivationRequest,
  reviewActivationRequest,
  saveLicenseFile,
} from "../../../api/console/support";
import type { IssuedLicenseFile } from "../../../bindings/IssuedLicenseFile";
import type { License } from "../../../bindings/License";
import type { Machine } from "../../../bindings/Machine";
import type { Platform } from "../../../bindings/Platform";
import type { Problem } from "../../../bindings/Problem";
import type { ReadRequest } from "../../../bindings/ReadRequest";
import type { RequestReview } from "../../../bindings/RequestReview";
import type { SavedFile } from "../../../bindings/SavedFile";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { useToast } from "../../../components/Toasts";
import { useCommand, useLoad } from "../../../hooks/useCommand";
import { copyText } from "../../../lib/clipboard";
import { formatDateTime, relativeTo } from "../../../lib/time";
import { useScope } from "../session";
import { StatusChip } from "../licenses/List";
import { customerNote } from "./note";
import "./support.css";

export function SupportRoutes() {
  return <SupportDesk />;
}

const PLATFORMS: Record<Platform, string> = {
  macos: "macOS",
  windows: "Windows",
  linux: "Linux",
  docker: "Docker container",
  kubernetes: "Kubernetes pod",
};

function SupportDesk() {
  const [text, setText] = useState("");
  const [productId, setProductId] = useState("");
  const [read, setRead] = useState<(ReadRequest & { fileName: string }) | null>(null);
  const [review, setReview] = useState<RequestReview | null>(null);
  const [issued, setIssued] = useState<IssuedLicenseFile | null>(null);
  const readFile = useCommand(readActivationRequest);
  // Checks can overlap (the product picker re-checks at once) and answer in any order:
  // only the latest check's answer or error is shown, never an older one that came back
  // later.
  const check = useCommand(reviewActivationRequest, { latestOnly: true });
  const issue = useCommand(issueOfflineLicense);
  // The product chosen now, for a check that starts after an await (a file being read).
  const chosenProduct = useRef(productId);
  useEffect(() => {
    chosenProduct.current = productId;
  });

  async function runCheck(request: string, product: string) {
    setIssued(null);
    const next = await check.run(request, product || null);
    if (next) setReview(next);
  }

  async function takeFile(file: File | undefined) {
    if (!file) return;
    setRead(null);
    const answer = await readFile.run(await base64Of(file));
    if (!answer) return;
    setRead({ ...answer, fileName: file.name });
    setText(answer.text);
    await runCheck(answer.text, chosenProduct.current);
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    void takeFile(event.dataTransfer.files[0]);
  }

  function startOver() {
    setText("");
    setRead(null);
    setReview(null);
    setIssued(null);
    readFile.clearError();
    check.forget();
    issue.clearError();
  }

  async function issueFile() {
    if (!review) return;
    const file = await issue.run(review.text);
    if (file) {
      setIssued(file);
      // The license now counts the machine.
      setReview({ ...review, license: file.license });
    }
  }

  const stale = review !== null && review.text !== text.replace(/\s+/g, "");

  return (
    <section className="console-page support-desk" data-testid="support-desk">
      <header className="page-header">
        <div>
          <h1>Support desk</h1>
          <p className="muted">
            Turn an air-gapped customer's activation request into a license file: check it, issue it, send it back.
          </p>
        </div>
        {(text || review) && (
          <div className="page-actions">
            <button type="button" className="button" data-testid="start-over" onClick={startOver}>
              New request
            </button>
          </div>
        )}
      </header>

      <div className="card support-step">
        <h2>
          <span className="step-number">1</span> The customer's request
        </h2>
        <div
          className="dropzone support-drop"
          data-testid="request-dropzone"
          onDragOver={(e) => e.preventDefault()}
          onDrop={drop}
        >
          <p>
            <strong>Drop the request file, or a photo or screenshot of its QR code, here</strong>
          </p>
          <label className="button file-button">
            Choose a file…
            <input
              type="file"
              accept=".txt,text/plain,image/*"
              data-testid="request-file-input"
              onChange={(e) => {
                void takeFile(e.target.files?.[0]);
                e.target.value = "";
              }}
            />
          </label>
          {readFile.busy && (
            <p className="muted small" role="status">
              Reading the file…
            </p>
          )}
          {read && (
            <p className="small read-source" data-testid="read-source">
              {read.source === "qr_code" ? "Read from the QR code in " : "Read from "}
              <strong>{read.fileName}</strong>
            </p>
          )}
        </div>
        {readFile.error && (
          <div className="alert alert-error" role="alert" data-testid="read-error">
            {readFile.error.message}
          </div>
        )}
        <label htmlFor="request-text">…or paste the request's text</label>
        <textarea
          id="request-text"
          data-testid="request-input"
          className="request-input"
          rows={4}
          spellCheck={false}
          placeholder="LICENTRIC-REQ1.…"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setRead(null);
          }}
        />
        <div className="support-row">
          <ProductPicker
            value={productId}
            onChange={(next) => {
              setProductId(next);
              if (review && text.trim()) void runCheck(text, next);
            }}
          />
          <button
            type="button"
            className="button primary"
            data-testid="check-request"
            disabled={check.busy || text.trim() === ""}
            onClick={() => void runCheck(text, productId)}
          >
            {check.busy ? "Checking…" : review && !stale ? "Check again" : "Check request"}
          </button>
        </div>
        {check.error && (
          <div className="alert alert-error" role="alert" data-testid="check-error">
            {check.error.message}
          </div>
        )}
      </div>

      {review && (
        <ReviewCard
          review={review}
          issued={issued !== null}
          stale={stale}
          onRecheck={() => void runCheck(text, productId)}
        />
      )}

      {review && (
        <div className="card support-step">
          <h2>
            <span className="step-number">3</span> Issue the license file
          </h2>
          {!issued && (
            <>
              <p className="muted">
                {review.canIssue
                  ? review.alreadyActivated
                    ? "The machine is already on the license: a fresh file replaces the one it has, and takes no extra seat."
                    : "The machine is registered on the license and takes one of its seats; the file works on that machine only."
                  : "Solve the problems above first: nothing can be issued for this request yet."}
              </p>
              {issue.error && (
                <div className="alert alert-error" role="alert" data-testid="issue-error">
                  {issue.error.message}
                </div>
              )}
              <button
                type="button"
                className="button primary"
                data-testid="issue-license"
                disabled={!review.canIssue || stale || issue.busy}
                onClick={() => void issueFile()}
              >
                {issue.busy ? "Issuing…" : review.alreadyActivated ? "Issue a fresh license file" : "Issue license file"}
              </button>
            </>
          )}
          {issued && <Issued file={issued} reissued={review.alreadyActivated} />}
        </div>
      )}
    </section>
  );
}

function ProductPicker(props: { value: string; onChange: (productId: string) => void }) {
  const allowed = useScope("products:read");
  const products = useLoad(() => (allowed ? listProducts({ limit: 100 }) : Promise.resolve(null)), String(allowed));
  if (!allowed) return <span />;
  return (
    <label className="inline-label">
      <span>Product the customer is activating</span>
      <select
        data-testid="support-product"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      >
        <option value="">Any product</option>
        {(products.data?.data ?? []).map((product) => (
          <option key={product.id} value={product.id}>
            {product.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function ReviewCard(props: { review: RequestReview; issued: boolean; stale: boolean; onRecheck: () => void }) {
  const { review } = props;
  const card = useRef<HTMLDivElement>(null);
  // The verdict is what support came for: bring it into view after each check.
  useEffect(() => card.current?.scrollIntoView({ block: "start" }), [review]);
  const { asks, license } = review;
  const blocking = review.problems.filter((p) => p.blocking);
  const full = review.problems.some((p) => p.code === "machine_limit_reached");
  return (
    <div className="card support-step" data-testid="request-review" data-can-issue={review.canIssue} ref={card}>
      <h2>
        <span className="step-number">2</span> What it asks for
      </h2>
      {props.stale && (
        <div className="alert alert-warn" role="status">
          The request text changed since it was checked.{" "}
          <button type="button" className="button link" onClick={props.onRecheck}>
            Check it again
          </button>
        </div>
      )}
      <div className="problems" data-testid="problems">
        {review.problems.length === 0 && (
          <div className="alert alert-ok" data-testid="no-problems">
            {props.issued ? (
              <>
                <strong>Issued.</strong> The machine is on the license; send the customer the file below.
              </>
            ) : (
              <>
                <strong>Ready to issue.</strong> The license is active and has a free machine slot.
              </>
            )}
          </div>
        )}
        {review.problems.map((problem) => (
          <ProblemNote key={problem.code} problem={problem} />
        ))}
        {blocking.length > 0 && (
          <p className="muted small">
            {blocking.length === 1 ? "This must be solved" : "These must be solved"} before a license file can be
            issued.
          </p>
        )}
      </div>
      {asks && (
        <div className="asks">
          <div>
            <h3>Machine</h3>
            <dl className="facts">
              <dt>Name</dt>
              <dd data-testid="asks-machine">{asks.machineName}</dd>
              <dt>Platform</dt>
              <dd data-testid="asks-platform">{PLATFORMS[asks.platform]}</dd>
              <dt>Fingerprint</dt>
              <dd className="mono" data-testid="asks-fingerprint">
                {asks.fingerprint}
              </dd>
              <dt>Requested</dt>
              <dd>{formatDateTime(asks.createdAt)} (by the machine's clock)</dd>
            </dl>
          </div>
          <div>
            <h3>License</h3>
            <dl className="facts">
              <dt>{asks.licenseKey ? "Key" : "Id"}</dt>
              <dd className="mono" data-testid="asks-license">
                {asks.licenseKey ?? asks.licenseId}
              </dd>
              {license ? <LicenseFacts license={license} productName={review.productName} /> : null}
            </dl>
          </div>
        </div>
      )}
      {full && license && <FreeSlot license={license} machines={review.machines} onFreed={props.onRecheck} />}
    </div>
  );
}

function LicenseFacts(props: { license: License; productName: string | null }) {
  const { license } = props;
  const full = license.maxMachines !== null && license.machinesCount >= license.maxMachines;
  return (
    <>
      <dt>Name</dt>
      <dd data-testid="license-name">
        <Link href={`~/licenses/${license.id}`}>{license.name ?? "(no name)"}</Link>
      </dd>
      <dt>Product</dt>
      <dd>{props.productName ?? license.productId}</dd>
      <dt>Status</dt>
      <dd>
        <StatusChip license={license} testId="license-status" />
      </dd>
      <dt>Expires</dt>
      <dd>
        {license.expiresAt ? `${formatDateTime(license.expiresAt)} (${relativeTo(license.expiresAt)})` : "Never"}
      </dd>
      <dt>Machines</dt>
      <dd data-testid="license-machines">
        <span className={full ? "seats seats-full" : "seats"}>
          {license.machinesCount} of {license.maxMachines ?? "unlimited"} used
        </span>
      </dd>
    </>
  );
}

function ProblemNote(props: { problem: Problem }) {
  const { problem } = props;
  return (
    <div
      className={`alert ${problem.blocking ? "alert-error" : "alert-info"} problem`}
      role={problem.blocking ? "alert" : "status"}
      data-testid="problem"
      data-code={problem.code}
    >
      <strong>{problem.title}.</strong> {problem.message}
    </div>
  );
}

/** The license is full: its machines, one of which can be deactivated to make room. */
function FreeSlot(props: { license: License; machines: Machine[]; onFreed: () => void }) {
  const toast = useToast();
  const remove = useCommand(deleteMachine);
  const [removing, setRemoving] = useState<Machine | null>(null);
  const allowed = useScope("machines:write");
  return (
    <div className="free-slot" data-testid="free-slot">
      <h3>Free a slot</h3>
      <p className="muted small">
        Deactivate a machine the customer no longer uses; the app on it stops working at its next check.
      </p>
      {remove.error && (
        <div className="alert alert-error" role="alert">
          {remove.error.message}
        </div>
      )}
      <ul className="slot-list">
        {props.machines.map((machine) => (
          <li key={machine.id} className="slot" data-testid="slot-machine">
            <div>
              <strong>{machine.name ?? "(unnamed machine)"}</strong>
              <div className="muted small">
                {machine.platform ? PLATFORMS[machine.platform] : "Unknown platform"} · activated{" "}
                {relativeTo(machine.createdAt)}
                {machine.lastHeartbeatAt ? ` · last seen ${relativeTo(machine.lastHeartbeatAt)}` : ""} ·{" "}
                <span className="mono">{machine.fingerprint.slice(0, 16)}…</span>
              </div>
            </div>
            <button
              type="button"
              className="button small danger-text"
              data-testid="deactivate-slot"
              disabled={!allowed || remove.busy}
              title={allowed ? undefined : "Needs the machines:write scope"}
              onClick={() => setRemoving(machine)}
            >
              Deactivate
            </button>
          </li>
        ))}
      </ul>
      {removing && (
        <ConfirmDialog
          title={`Deactivate “${removing.name ?? removing.fingerprint.slice(0, 12)}”?`}
          body={`Its seat on ${props.license.name ?? "the license"} is freed at once, and the app on that machine stops working at its next check. Do this only when the customer no longer uses it.`}
          confirmLabel="Deactivate machine"
          busy={remove.busy}
          onCancel={() => setRemoving(null)}
          onConfirm={async () => {
            const gone = removing;
            const done = await remove.run(gone.id);
            setRemoving(null);
            if (done !== undefined) {
              toast({ message: `Deactivated ${gone.name ?? "the machine"}. Checking the request again…` });
              props.onFreed();
            }
          }}
        />
      )}
    </div>
  );
}

function Issued(props: { file: IssuedLicenseFile; reissued: boolean }) {
  const { file } = props;
  const save = useCommand(saveLicenseFile);
  const [saved, setSaved] = useState<SavedFile | null>(null);
  const [copied, setCopied] = useState<"file" | "note" | null>(null);
  const machineName = file.machine.name ?? "the machine";
  const note = customerNote(file, machineName, saved);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.scrollIntoView({ block: "start" }), []);
  return (
    <div data-testid="issued" ref={box}>
      <div className="alert alert-ok" data-testid="issued-note">
        <strong>{props.reissued ? "Fresh license file issued" : "License file issued"}</strong> for {machineName} on{" "}
        {file.license.name ?? file.license.key} ({file.license.machinesCount} of {file.license.maxMachines ?? "unlimited"}{" "}
        machines now used).
        {file.worksOfflineUntil && (
          <>
            {" "}
            It works offline until <strong>{formatDateTime(file.worksOfflineUntil)}</strong> (
            {relativeTo(file.worksOfflineUntil)}).
          </>
        )}
      </div>
      <label htmlFor="license-file">
        License file <span className="muted small">{file.fileName}</span>
      </label>
      <textarea id="license-file" className="license-file" data-testid="license-file-text" readOnly rows={6} value={file.certificate} />
      <div className="row-actions">
        <button
          type="button"
          className="button primary"
          data-testid="save-license"
          disabled={save.busy}
          onClick={async () => {
            const where = await save.run(file.certificate, machineName);
            if (where) setSaved(where);
          }}
        >
          {save.busy ? "Saving…" : "Save the .lic file"}
        </button>
        <button
          type="button"
          className="button"
          data-testid="copy-license"
          onClick={async () => setCopied((await copyText(file.certificate, "license-file")) ? "file" : null)}
        >
          {copied === "file" ? "Copied" : "Copy"}
        </button>
      </div>
      {saved && (
        <p className="small" data-testid="saved-path">
          Saved in {saved.folder} as <code>{saved.path.split(/[\\/]/).pop()}</code> — attach it to your reply.
        </p>
      )}
      {save.error && (
        <div className="alert alert-error" role="alert">
          {save.error.message}
        </div>
      )}
      <div className="customer-note">
        <h3>What to tell the customer</h3>
        <textarea id="customer-note" readOnly rows={9} value={note} data-testid="customer-note" />
        <button
          type="button"
          className="button small"
          data-testid="copy-note"
          onClick={async () => setCopied((await copyText(note, "customer-note")) ? "note" : null)}
        >
          {copied === "note" ? "Copied" : "Copy message"}
        </button>
      </div>
    </div>
  );
}

/** A file's bytes as base64, for the Rust side to read (FileReader keeps big photos fast). */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.readAsDataURL(file);
  });
}
