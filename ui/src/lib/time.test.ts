import { relativeTo } from "./time";

const now = new Date("2026-03-01T09:00:00Z");

test("future and past durations read naturally", () => {
  expect(relativeTo("2027-03-01T09:00:00Z", now)).toBe("in 365 days");
  expect(relativeTo("2026-03-02T09:00:00Z", now)).toBe("in 1 day");
  expect(relativeTo("2026-03-01T14:30:00Z", now)).toBe("in 5 hours");
  expect(relativeTo("2026-02-26T09:00:00Z", now)).toBe("3 days ago");
  expect(relativeTo("2026-03-01T09:00:10Z", now)).toBe("in 1 minute");
  expect(relativeTo("2026-03-01T08:59:30Z", now)).toBe("just now");
  expect(relativeTo("2026-03-01T08:58:30Z", now)).toBe("1 minute ago");
  // A year minus a few seconds is still a year away in days.
  expect(relativeTo("2027-03-01T08:59:50Z", now)).toBe("in 365 days");
});
