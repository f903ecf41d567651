// What the catalogue areas (products, policies, entitlements, API keys, webhooks, audit
// log, signing keys) share: a paged list hook, page headers, a Copy box, a secret shown
// once, and date wording. Their styles are in catalog.css.
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { Link } from "wouter";
import type { AppError } from "../../api/invoke";
import type { ListQuery } from "../../bindings/ListQuery";
import type { Page } from "../../bindings/Page";
import { FormError } from "../../components/Field";
import { useCommand } from "../../hooks/useCommand";
import { copyText } from "../../lib/clipboard";
import { formatDateTime, relativeTo } from "../../lib/time";
import "./catalog.css";

export const PAGE_SIZE = 50;

/**
 * A server-paged list: the first page when `query` changes (or on `reload()`), the next
 * on `loadMore()` — by offset, or by `cursor(lastRow)` for lists that page by id.
 */
export function usePaged<T>(
  load: (query: ListQuery) => Promise<Page<T>>,
  query: ListQuery,
  cursor?: (last: T) => string,
) {
  const key = JSON.stringify(query);
  const [state, setState] = useState<{ rows: T[]; total: number | null; hasMore: boolean }>({
    rows: [],
    total: null,
    hasMore: false,
  });
  const [version, setVersion] = useState(0);
  const command = useCommand(load);
  const { run } = command;
  const generation = useRef(0);

  useEffect(() => {
    const mine = ++generation.current;
    const base = JSON.parse(key) as ListQuery;
    void run({ ...base, limit: PAGE_SIZE, offset: 0 }).then((page) => {
      if (page && generation.current === mine) setState({ rows: page.data, total: page.total, hasMore: page.hasMore });
    });
  }, [run, key, version]);

  const { rows, hasMore } = state;
  const loading = command.busy;
  const loadMore = useCallback(() => {
    if (!hasMore || loading) return;
    const mine = generation.current;
    const base = JSON.parse(key) as ListQuery;
    const last = rows.at(-1);
    const next: ListQuery =
      cursor && last !== undefined
        ? { ...base, limit: PAGE_SIZE, after: cursor(last) }
        : { ...base, limit: PAGE_SIZE, offset: rows.length };
    void run(next).then((page) => {
      if (page && generation.current === mine) {
        setState((now) => ({ rows: [...now.rows, ...page.data], total: page.total, hasMore: page.hasMore }));
      }
    });
  }, [hasMore, loading, key, rows, cursor, run]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { rows, total: state.total, hasMore, loading, error: command.error, loadMore, reload };
}

/** `value`, once it has stopped changing for `ms` (for search boxes). */
export function useDebounced<T>(value: T, ms = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function PageHeader(props: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
  crumb?: { href: string; label: string };
}) {
  return (
    <header className="page-header catalog-header">
      <div>
        {props.crumb && (
          <p className="breadcrumb">
            <Link href={props.crumb.href}>← {props.crumb.label}</Link>
          </p>
        )}
        <h1>{props.title}</h1>
        {props.description && <p className="muted">{props.description}</p>}
      </div>
      {props.actions && <div className="page-actions">{props.actions}</div>}
    </header>
  );
}

/**
 * A date as "12 Mar 2027, 09:00" with "3 days ago" on hover; `relative` (for narrow table
 * columns) shows "3 days ago" with the date on hover.
 */
export function When(props: { iso: string | null | undefined; empty?: string; relative?: boolean }) {
  if (!props.iso) return <span className="muted">{props.empty ?? "—"}</span>;
  const full = formatDateTime(props.iso);
  const relative = relativeTo(props.iso);
  return (
    <time dateTime={props.iso} title={props.relative ? full : relative}>
      {props.relative ? relative : full}
    </time>
  );
}

/** Read-only text with a Copy button; where the clipboard is refused, the text is selected. */
export function CopyBox(props: { id: string; text: string; testId: string; rows?: number; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="copy-box">
      <textarea
        id={props.id}
        className="copy-text"
        readOnly
        rows={props.rows ?? 1}
        value={props.text}
        data-testid={props.testId}
        aria-label={props.label}
        spellCheck={false}
        onFocus={(e) => e.currentTarget.select()}
      />
      <button
        type="button"
        className="button small"
        data-testid={`${props.testId}-copy`}
        onClick={() => void copyText(props.text, props.id).then((ok) => setCopied(ok))}
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

/**
 * A secret the server shows once (a new API key, a webhook's signing secret): Copy, a
 * warning that it cannot be shown again, and a button that removes it from the screen.
 */
export function SecretOnce(props: {
  title: string;
  secret: string;
  /** Why it cannot be shown again and what to do if it is lost. */
  why: string;
  onDismiss: () => void;
}) {
  const dismiss = useRef<HTMLButtonElement>(null);
  useEffect(() => dismiss.current?.scrollIntoView?.({ block: "nearest" }), []);
  return (
    <div className="card secret-once" role="region" aria-label={props.title} data-testid="secret-once">
      <h2>{props.title}</h2>
      <p className="secret-warning" data-testid="secret-warning">
        <strong>Copy it now: it will not be shown again.</strong> {props.why}
      </p>
      <CopyBox id="secret-once-text" text={props.secret} testId="secret-value" label={props.title} />
      <div className="form-actions">
        <button ref={dismiss} type="button" className="button primary" data-testid="secret-dismiss" onClick={props.onDismiss}>
          I have saved it — hide it
        </button>
      </div>
    </div>
  );
}

/** A search box whose value is debounced by the caller. */
export function SearchBox(props: { value: string; onChange: (value: string) => void; placeholder: string; testId: string }) {
  return (
    <input
      type="search"
      value={props.value}
      onChange={(e) => props.onChange(e.target.value)}
      placeholder={props.placeholder}
      aria-label={props.placeholder}
      data-testid={props.testId}
    />
  );
}

/** A number input's value: `null` when blank, else the number (NaN stays NaN for the server to name). */
export function parseNumber(text: string): number | null {
  const trimmed = text.trim();
  return trimmed === "" ? null : Number(trimmed);
}

/**
 * A refused form's message: when the server named only fields shown on the form, those
 * fields say it and this only points at them; anything else is said here in full.
 */
export function FormProblems(props: { error: AppError | null; fields: string[] }) {
  const { error } = props;
  if (!error) return null;
  const named = Object.keys(error.details);
  const allShown = named.length > 0 && named.every((field) => props.fields.includes(field));
  if (!allShown) return <FormError error={error} />;
  return (
    <div className="alert alert-error" role="alert" data-testid="form-error">
      Nothing was saved: {named.length === 1 ? "one field needs" : `${named.length} fields need`} fixing (marked
      above). What you typed is still here.
    </div>
  );
}
