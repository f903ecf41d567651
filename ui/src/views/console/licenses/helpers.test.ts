import { describe, expect, it } from "vitest";
import {
  buildMetadata,
  expiryRange,
  humanTimes,
  expiryWords,
  filtersFromSearch,
  licenseQuery,
  NO_FILTERS,
  parseMetadataLines,
  resultsSummary,
  routeSearch,
  standing,
  toDateInput,
} from "./helpers";

describe("filters from the route", () => {
  it("reads the dashboard's link, in the hash or in the search", () => {
    expect(routeSearch("", "#/licenses?status=active&expiresBefore=2027-01-01T00:00:00Z")).toBe(
      "status=active&expiresBefore=2027-01-01T00:00:00Z",
    );
    expect(routeSearch("?q=acme", "#/licenses")).toBe("q=acme");
    const filters = filtersFromSearch("status=active&expiresBefore=2027-01-01T00:00:00Z&bogus=1");
    expect(filters).toEqual({ ...NO_FILTERS, status: "active", expiresBefore: "2027-01-01T00:00:00Z" });
  });

  it("ignores a status the server does not know", () => {
    expect(filtersFromSearch("status=sleeping").status).toBe("");
  });

  it("shows a full time's day in a date input", () => {
    expect(toDateInput("2027-01-01T00:00:00Z")).toBe("2027-01-01");
    expect(toDateInput("garbage")).toBe("");
  });
});

describe("licenseQuery", () => {
  it("turns typed dates into instants and leaves empty filters for the Rust side to drop", () => {
    const query = licenseQuery(
      { ...NO_FILTERS, q: "  ab12 ", expiresAfter: "2026-12-01", expiresBefore: "2027-01-01T10:00:00Z" },
      "-expiresAt",
      "cursor1",
    );
    expect(query.q).toBe("ab12");
    expect(query.sort).toBe("-expiresAt");
    expect(query.after).toBe("cursor1");
    expect(query.filters?.expiresAfter).toBe("2026-12-01T00:00:00Z");
    expect(query.filters?.expiresBefore).toBe("2027-01-01T10:00:00Z");
    expect(query.filters?.status).toBe("");
  });
});

describe("metadata lines", () => {
  it("reads name = value and name: value", () => {
    expect(parseMetadataLines("seats = 5\n\norder: A-17")).toEqual({ value: { seats: "5", order: "A-17" } });
  });
  it("names the line it cannot read", () => {
    const parsed = parseMetadataLines("seats = 5\njust words");
    expect("error" in parsed && parsed.error).toContain("Line 2");
  });
  it("puts the e-mail in and checks it", () => {
    expect(buildMetadata("ana@example.com", "")).toEqual({ value: { email: "ana@example.com" } });
    expect(buildMetadata("", "")).toEqual({ value: null });
    const bad = buildMetadata("ana.example.com", "");
    expect("error" in bad && bad.field).toBe("email");
  });
});

describe("wording", () => {
  const now = new Date("2026-12-01T12:00:00Z");
  it("says an active license past its expiry is expired", () => {
    expect(standing({ status: "active", expiresAt: "2026-11-01T00:00:00Z" }, now).label).toBe("Expired");
    expect(standing({ status: "active", expiresAt: null }, now).label).toBe("Active");
    expect(standing({ status: "revoked", expiresAt: null }, now).tone).toBe("bad");
  });
  it("puts expiry in days", () => {
    expect(expiryWords(null, now)).toBe("Never (perpetual)");
    expect(expiryWords("2026-12-11T12:00:00Z", now)).toBe("in 10 days");
    expect(expiryWords("2026-11-30T12:00:00Z", now)).toBe("1 day ago");
  });
  it("sums up bulk results", () => {
    const results = {
      succeeded: 2,
      failed: 1,
      results: [
        { id: "a", result: "ok", message: null },
        { id: "b", result: "ok", message: null },
        { id: "c", result: "invalid_transition", message: "Cannot revoke a license that is revoked." },
      ],
    };
    expect(resultsSummary("revoke", results)).toBe("2 licenses revoked; 1 failed (reasons below).");
    expect(resultsSummary("suspend", { succeeded: 1, failed: 0, results: [] })).toBe("1 license suspended.");
  });
});

describe("expiry choices", () => {
  const now = new Date("2026-12-01T12:00:00Z");
  it("filters renewals due within 30 days from now", () => {
    expect(expiryRange("30", now)).toEqual({ expiresAfter: "2026-12-01T12:00:00.000Z", expiresBefore: "2027-01-01" });
  });
  it("filters the already expired", () => {
    expect(expiryRange("expired", now)).toEqual({ expiresAfter: "", expiresBefore: "2026-12-01T12:00:00.000Z" });
  });
});

describe("humanTimes", () => {
  it("rewrites the server's timestamps and leaves the rest", () => {
    expect(humanTimes("It expires at 2027-12-01T15:08:42.777841791+00:00.", () => "1 Dec 2027")).toBe(
      "It expires at 1 Dec 2027.",
    );
  });
});
