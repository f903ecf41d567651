// Pure helpers of the licenses and machines screens: filters ↔ query string ↔ the
// server's list query, metadata typed as "key = value" lines, wording of statuses,
// expiry and bulk results. Tested in helpers.test.ts.
import type { ActionResults } from "../../../bindings/ActionResults";
import type { License } from "../../../bindings/License";
import type { LicenseAction } from "../../../bindings/LicenseAction";
import type { ListQuery } from "../../../bindings/ListQuery";

export const STATUSES = ["active", "suspended", "revoked", "banned"] as const;

/** The list's search and filters, as the toolbar holds them (dates as YYYY-MM-DD). */
export type LicenseFilters = {
  q: string;
  status: string;
  productId: string;
  policyId: string;
  expiresAfter: string;
  expiresBefore: string;
};

export const NO_FILTERS: LicenseFilters = {
  q: "",
  status: "",
  productId: "",
  policyId: "",
  expiresAfter: "",
  expiresBefore: "",
};

/**
 * The query part of a console route: from `location.search`, or from the hash itself
 * (`#/licenses?status=active`), whichever has one.
 */
export function routeSearch(search: string, hash: string): string {
  const inHash = hash.indexOf("?");
  if (inHash >= 0) return hash.slice(inHash + 1);
  return search.replace(/^\?/, "");
}

/** Filters read from a query string, e.g. the dashboard's `expiresBefore=…&status=active`. */
export function filtersFromSearch(search: string): LicenseFilters {
  const params = new URLSearchParams(search);
  const get = (name: string) => params.get(name)?.trim() ?? "";
  const status = get("status");
  return {
    q: get("q"),
    status: (STATUSES as readonly string[]).includes(status) ? status : "",
    productId: get("productId"),
    policyId: get("policyId"),
    expiresAfter: get("expiresAfter"),
    expiresBefore: get("expiresBefore"),
  };
}

/** A date typed as YYYY-MM-DD means the start of that day (UTC); a full time is kept. */
export function toInstant(value: string): string {
  const v = value.trim();
  if (!v) return "";
  return /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
}

/** What a date input shows for a filter value (a full time from a link shows its day). */
export function toDateInput(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(value.trim());
  return m?.[1] ?? "";
}

/** The server's list query for the toolbar's filters, a sort and (for the next page) a cursor. */
export function licenseQuery(filters: LicenseFilters, sort: string | undefined, after?: string): ListQuery {
  const query: ListQuery = {
    limit: 100,
    filters: {
      status: filters.status,
      productId: filters.productId,
      policyId: filters.policyId,
      expiresAfter: toInstant(filters.expiresAfter),
      expiresBefore: toInstant(filters.expiresBefore),
    },
  };
  if (filters.q.trim()) query.q = filters.q.trim();
  if (sort) query.sort = sort;
  if (after) query.after = after;
  return query;
}

export function hasFilters(filters: LicenseFilters): boolean {
  return Object.values(filters).some((v) => v.trim() !== "");
}

/**
 * Metadata typed one `key = value` (or `key: value`) per line; blank lines are skipped.
 * Answers the object, or the first line that cannot be read and why.
 */
export function parseMetadataLines(text: string): { value: Record<string, string> } | { error: string } {
  const value: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    const name = m?.[1]?.trim();
    if (!name) {
      return { error: `Line ${i + 1} ("${line}") is not "name = value". Write one item per line, e.g. "seats = 5".` };
    }
    value[name] = m?.[2]?.trim() ?? "";
  }
  return { value };
}

/** The metadata a new license gets from the form's e-mail and extra lines. */
export function buildMetadata(
  email: string,
  lines: string,
): { value: Record<string, string> | null } | { error: string; field: "email" | "metadata" } {
  const parsed = parseMetadataLines(lines);
  if ("error" in parsed) return { error: parsed.error, field: "metadata" };
  const value = { ...parsed.value };
  const mail = email.trim();
  if (mail) {
    if (!/^[^\s@]+@[^\s@]+$/.test(mail)) {
      return { error: `"${mail}" does not look like an e-mail address (name@example.com).`, field: "email" };
    }
    value.email = mail;
  }
  return { value: Object.keys(value).length ? value : null };
}

/** The customer's e-mail in a license's metadata, when there is one. */
export function customerEmail(license: Pick<License, "metadata">): string | null {
  for (const name of ["email", "e-mail", "customerEmail", "customer_email"]) {
    const value = license.metadata?.[name];
    if (typeof value === "string" && value) return value;
  }
  return null;
}

/** Whether a license is past its expiry at `now`. */
export function isExpired(license: Pick<License, "expiresAt">, now: Date = new Date()): boolean {
  return !!license.expiresAt && new Date(license.expiresAt).getTime() <= now.getTime();
}

/** The label and tone of a license's standing: its status, or "expired" when an active one ran out. */
export function standing(
  license: Pick<License, "status" | "expiresAt">,
  now: Date = new Date(),
): { label: string; tone: "ok" | "warn" | "bad" } {
  switch (license.status) {
    case "active":
      return isExpired(license, now) ? { label: "Expired", tone: "bad" } : { label: "Active", tone: "ok" };
    case "suspended":
      return { label: "Suspended", tone: "warn" };
    case "revoked":
      return { label: "Revoked", tone: "bad" };
    case "banned":
      return { label: "Banned", tone: "bad" };
  }
}

/** What each action does, for buttons, confirmations and results. */
export const ACTIONS: Record<
  LicenseAction,
  { label: string; done: string; explain: string; danger: boolean }
> = {
  suspend: {
    label: "Suspend",
    done: "suspended",
    explain: "Validations answer SUSPENDED until the license is reinstated. Machines stay activated. You can undo this.",
    danger: false,
  },
  reinstate: {
    label: "Reinstate",
    done: "reinstated",
    explain: "A suspended license becomes active again and validates as before.",
    danger: false,
  },
  renew: {
    label: "Renew",
    done: "renewed",
    explain: "Extends the expiry by the policy's duration, from the current expiry or from today, whichever is later.",
    danger: false,
  },
  revoke: {
    label: "Revoke",
    done: "revoked",
    explain: "Revoking is final: the license stops validating for good and cannot be reinstated. Issue a new license if the customer needs one again.",
    danger: true,
  },
  ban: {
    label: "Ban",
    done: "banned",
    explain: "For abuse: validations answer BANNED. A banned license can only be revoked afterwards, not reinstated.",
    danger: true,
  },
  delete: {
    label: "Delete",
    done: "deleted",
    explain: "Deletes the license and its machines for good. Apps using its key stop validating. This cannot be undone.",
    danger: true,
  },
};

/** One sentence for the outcome of a bulk action. */
export function resultsSummary(action: LicenseAction, results: ActionResults): string {
  const done = ACTIONS[action].done;
  const plural = (n: number) => (n === 1 ? "license" : "licenses");
  if (results.failed === 0) return `${results.succeeded} ${plural(results.succeeded)} ${done}.`;
  if (results.succeeded === 0) return `None ${done}: all ${results.failed} failed (reasons below).`;
  return `${results.succeeded} ${plural(results.succeeded)} ${done}; ${results.failed} failed (reasons below).`;
}

/** "Never", "in 20 days", "3 days ago" — an expiry in words. */
export function expiryWords(expiresAt: string | null, now: Date = new Date()): string {
  if (!expiresAt) return "Never (perpetual)";
  const days = Math.round((new Date(expiresAt).getTime() - now.getTime()) / 86_400_000);
  if (days === 0) return new Date(expiresAt).getTime() > now.getTime() ? "today" : "today (expired)";
  if (days > 0) return `in ${days} day${days === 1 ? "" : "s"}`;
  return `${-days} day${days === -1 ? "" : "s"} ago`;
}

// One formatter for every cell: `toLocaleDateString` with options builds a new one per
// call, which a table of dates pays on every row it renders.
const SHORT_DATE = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });

/** A date for tables: "12 Mar 2027". */
export function shortDate(iso: string | null): string {
  if (!iso) return "—";
  return SHORT_DATE.format(new Date(iso));
}

/** A random id for a long job, so Cancel reaches the right one. */
export function jobId(): string {
  return `issue-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The expiry filter's choices: none, within 30 or 90 days, already expired, or two dates. */
export type ExpiryMode = "" | "30" | "90" | "expired" | "custom";

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The dates an expiry choice filters by, from `now` (a custom choice keeps what is typed). */
export function expiryRange(mode: ExpiryMode, now: Date): Pick<LicenseFilters, "expiresAfter" | "expiresBefore"> {
  switch (mode) {
    case "30":
    case "90":
      return {
        expiresAfter: now.toISOString(),
        expiresBefore: day(new Date(now.getTime() + (Number(mode) + 1) * 86_400_000)),
      };
    case "expired":
      return { expiresAfter: "", expiresBefore: now.toISOString() };
    default:
      return { expiresAfter: "", expiresBefore: "" };
  }
}

/** Platforms a machine reports, as people write them. */
export const PLATFORM_NAMES: Record<string, string> = {
  windows: "Windows",
  macos: "macOS",
  linux: "Linux",
  docker: "Docker",
  kubernetes: "Kubernetes",
};

/** The server's words with its RFC 3339 times put as `format` writes dates for people. */
export function humanTimes(text: string, format: (iso: string) => string): string {
  return text.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g, (iso) => format(iso));
}
