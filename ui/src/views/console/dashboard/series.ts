// Pure helpers of the dashboard: the server's days turned into uPlot's columns (time in
// seconds, stacked validations), the range asked for, seat shares, and the links of the
// expiring windows. Tested in series.test.ts.
import type { AnalyticsDay } from "../../../bindings/AnalyticsDay";
import type { ExpiryWindow } from "../../../bindings/ExpiryWindow";
import type { Seats } from "../../../bindings/Seats";
import type { ValidationCode } from "../../../bindings/ValidationCode";

export const RANGES = [30, 90] as const;
export type Range = (typeof RANGES)[number];

const DAY_MS = 24 * 60 * 60 * 1000;

/** `YYYY-MM-DD` of a UTC day. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` UTC days up to today, as the analytics query wants them. */
export function rangeOf(days: Range, now: Date): { from: string; to: string } {
  return { from: isoDay(new Date(now.getTime() - (days - 1) * DAY_MS)), to: isoDay(now) };
}

/** A day's start in seconds (uPlot's time scale). */
export function daySeconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

/** Plain words for each validation outcome, as the legend shows them. */
export const CODE_LABELS: Record<ValidationCode, string> = {
  VALID: "Valid",
  NOT_FOUND: "Unknown key",
  EXPIRED: "Expired",
  SUSPENDED: "Suspended",
  REVOKED: "Revoked",
  BANNED: "Banned",
  MACHINE_LIMIT_EXCEEDED: "Machine limit",
  FINGERPRINT_NOT_FOUND: "Machine not activated",
  HEARTBEAT_REQUIRED: "Heartbeat missing",
  USES_EXCEEDED: "Uses used up",
  ENTITLEMENTS_MISSING: "Entitlement missing",
};

export type Stacked = {
  /** Day starts, in seconds. */
  x: number[];
  /** The codes that occurred in the range, largest total first (so drawn at the bottom). */
  codes: ValidationCode[];
  /** Each code's own count per day, in `codes` order. */
  raw: number[][];
  /** Running sums for stacked bars: `stacked[i]` = codes 0..=i, in `codes` order. */
  stacked: number[][];
};

/** Validations per day by outcome, only the outcomes that occurred, ready to stack. */
export function stackValidations(days: AnalyticsDay[]): Stacked {
  const totals = new Map<ValidationCode, number>();
  for (const day of days) {
    for (const [code, count] of Object.entries(day.validations) as Array<[ValidationCode, number]>) {
      if (count) totals.set(code, (totals.get(code) ?? 0) + count);
    }
  }
  const codes = [...totals.keys()].sort((a, b) => {
    if (a === "VALID") return -1;
    if (b === "VALID") return 1;
    return (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b);
  });
  const raw = codes.map((code) => days.map((day) => day.validations[code] ?? 0));
  const stacked: number[][] = [];
  raw.forEach((counts, i) => {
    stacked.push(counts.map((count, d) => count + (i > 0 ? (stacked[i - 1]?.[d] ?? 0) : 0)));
  });
  return { x: days.map((day) => daySeconds(day.date)), codes, raw, stacked };
}

/** Whether anything happened in the range at all. */
export function hasActivity(days: AnalyticsDay[]): boolean {
  return days.some((day) => day.validationsTotal > 0 || day.activations > 0 || day.deactivations > 0);
}

export type Totals = { validations: number; valid: number; activations: number; deactivations: number; activeNow: number | null };

export function totals(days: AnalyticsDay[]): Totals {
  let activeNow: number | null = null;
  const sum = { validations: 0, valid: 0, activations: 0, deactivations: 0 };
  for (const day of days) {
    sum.validations += day.validationsTotal;
    sum.valid += day.validations.VALID ?? 0;
    sum.activations += day.activations;
    sum.deactivations += day.deactivations;
    if (day.activeMachines !== null) activeNow = day.activeMachines;
  }
  return { ...sum, activeNow };
}

/** Share of bounded seats in use (0–1+), or null when the licenses are all unlimited. */
export function seatShare(seats: Seats): number | null {
  if (seats.seatsAvailable === 0) return null;
  return (seats.machinesUsed - seats.machinesOnUnlimited) / seats.seatsAvailable;
}

/** The licenses list filtered to one expiring window (the route's query carries it). */
export function expiringHref(window: ExpiryWindow, asOf: string, productId: string | null): string {
  const query = new URLSearchParams({ status: "active", expiresAfter: asOf, expiresBefore: window.expiresBefore });
  if (productId) query.set("productId", productId);
  query.set("sort", "expiresAt");
  return `/licenses?${query.toString()}`;
}
