import { describe, expect, it } from "vitest";
import type { AnalyticsDay } from "../../../bindings/AnalyticsDay";
import { daySeconds, expiringHref, hasActivity, rangeOf, seatShare, stackValidations, totals } from "./series";

const day = (date: string, validations: AnalyticsDay["validations"], more: Partial<AnalyticsDay> = {}): AnalyticsDay => ({
  date,
  validations,
  validationsTotal: Object.values(validations).reduce((a, b) => a + (b ?? 0), 0),
  activations: 0,
  deactivations: 0,
  activeMachines: null,
  ...more,
});

describe("dashboard series", () => {
  it("asks for the last N UTC days up to today", () => {
    expect(rangeOf(30, new Date("2026-03-31T23:30:00Z"))).toEqual({ from: "2026-03-02", to: "2026-03-31" });
    expect(rangeOf(90, new Date("2026-03-31T00:10:00Z")).from).toBe("2026-01-01");
    expect(daySeconds("2026-03-01")).toBe(Date.UTC(2026, 2, 1) / 1000);
  });

  it("stacks only the outcomes that occurred, valid at the bottom", () => {
    const days = [
      day("2026-03-01", { VALID: 5, EXPIRED: 1, SUSPENDED: 0 }),
      day("2026-03-02", { VALID: 2, SUSPENDED: 3, EXPIRED: 0 }),
    ];
    const stack = stackValidations(days);
    expect(stack.codes).toEqual(["VALID", "SUSPENDED", "EXPIRED"]);
    expect(stack.raw).toEqual([
      [5, 2],
      [0, 3],
      [1, 0],
    ]);
    expect(stack.stacked).toEqual([
      [5, 2],
      [5, 5],
      [6, 5],
    ]);
    expect(stack.x).toEqual([daySeconds("2026-03-01"), daySeconds("2026-03-02")]);
  });

  it("sums the range and finds today's machines", () => {
    const days = [
      day("2026-03-01", { VALID: 3, EXPIRED: 1 }, { activations: 2, activeMachines: 2 }),
      day("2026-03-02", {}, { deactivations: 1, activeMachines: 1 }),
      day("2026-03-03", {}, { activeMachines: null }),
    ];
    expect(totals(days)).toEqual({ validations: 4, valid: 3, activations: 2, deactivations: 1, activeNow: 1 });
    expect(hasActivity(days)).toBe(true);
    expect(hasActivity([day("2026-03-01", {})])).toBe(false);
  });

  it("shares bounded seats, and none for unlimited licenses", () => {
    const seats = { activeLicenses: 3, machinesUsed: 7, seatsAvailable: 8, unlimitedLicenses: 1, machinesOnUnlimited: 3 };
    expect(seatShare(seats)).toBe(0.5);
    expect(seatShare({ ...seats, seatsAvailable: 0 })).toBeNull();
  });

  it("links an expiring window to the filtered licenses list", () => {
    const href = expiringHref(
      { days: 30, expiresBefore: "2026-04-01T10:00:00Z", count: 4 },
      "2026-03-02T10:00:00Z",
      "prod-1",
    );
    const [path, query] = href.split("?");
    expect(path).toBe("/licenses");
    const params = new URLSearchParams(query);
    expect(params.get("status")).toBe("active");
    expect(params.get("expiresBefore")).toBe("2026-04-01T10:00:00Z");
    expect(params.get("expiresAfter")).toBe("2026-03-02T10:00:00Z");
    expect(params.get("productId")).toBe("prod-1");
  });
});
