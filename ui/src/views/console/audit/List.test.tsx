// The audit log pages back in time by event id and sends its filters by the API's names;
// the real path is covered by tests/e2e/console_catalog.rs.
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import * as apiKeys from "../../../api/console/apiKeys";
import * as events from "../../../api/console/events";
import type { AuditEvent } from "../../../bindings/AuditEvent";
import { AuditList } from "./List";

afterEach(() => vi.restoreAllMocks());

function event(id: number): AuditEvent {
  return {
    id: String(id),
    occurredAt: "2026-12-01T10:00:00Z",
    actorType: "api_key",
    actorId: "key-9",
    actorName: "Support bot",
    action: "license.suspended",
    resourceType: "license",
    resourceId: `lic-${id}`,
    clientAddress: null,
    requestId: null,
    changes: { status: { before: "active", after: "suspended" } },
  };
}

test("older events come after the last one shown, and an event opens to show its changes", async () => {
  vi.spyOn(apiKeys, "listApiKeys").mockResolvedValue({ data: [], total: 0, limit: 100, offset: 0, hasMore: false });
  const list = vi
    .spyOn(events, "listEvents")
    .mockResolvedValueOnce({ data: [event(60), event(59)], total: 3, limit: 50, offset: 0, hasMore: true })
    .mockResolvedValueOnce({ data: [event(12)], total: 3, limit: 50, offset: 0, hasMore: false });
  render(<AuditList />);
  await screen.findByText("lic-60");
  await userEvent.click(screen.getByTestId("audit-more"));
  await screen.findByText("lic-12");
  expect(list.mock.calls[1]?.[0]).toMatchObject({ after: "59" });
  expect(screen.queryByTestId("audit-more")).not.toBeInTheDocument();

  expect(screen.queryByTestId("audit-changes")).not.toBeInTheDocument();
  await userEvent.click(screen.getByText("lic-60"));
  const changes = await screen.findByTestId("audit-changes");
  expect(changes).toHaveTextContent("status");
  expect(changes).toHaveTextContent("suspended");
});

test("filters reach the server by the API's names", async () => {
  vi.spyOn(apiKeys, "listApiKeys").mockResolvedValue({ data: [], total: 0, limit: 100, offset: 0, hasMore: false });
  const list = vi.spyOn(events, "listEvents").mockResolvedValue({ data: [], total: 0, limit: 50, offset: 0, hasMore: false });
  render(<AuditList />);
  await userEvent.selectOptions(screen.getByTestId("audit-resource-type"), "license");
  await userEvent.type(screen.getByTestId("audit-action"), "license.revoked");
  await waitFor(() =>
    expect(list).toHaveBeenLastCalledWith(
      expect.objectContaining({ filters: expect.objectContaining({ resourceType: "license", action: "license.revoked" }) }),
    ),
  );
  expect(await screen.findByTestId("audit-empty")).toHaveTextContent("No event matches");
});

test("the time range is picked from presets; only a custom range shows its From and Until, filled in", async () => {
  vi.spyOn(apiKeys, "listApiKeys").mockResolvedValue({ data: [], total: 0, limit: 100, offset: 0, hasMore: false });
  const list = vi.spyOn(events, "listEvents").mockResolvedValue({ data: [], total: 0, limit: 50, offset: 0, hasMore: false });
  render(<AuditList />);
  expect(screen.getByTestId("audit-range")).toHaveDisplayValue("Any time");
  expect(screen.queryByTestId("audit-since")).not.toBeInTheDocument();
  expect(screen.queryByTestId("audit-until")).not.toBeInTheDocument();
  const lastFilters = () => (list.mock.calls.at(-1)?.[0] as { filters: { since: string; until: string } }).filters;

  const before = Date.now();
  await userEvent.selectOptions(screen.getByTestId("audit-range"), "24h");
  await waitFor(() => expect(lastFilters().since).not.toBe(""));
  const since = Date.parse(lastFilters().since);
  // Counted back from the moment it was chosen, to the minute.
  expect(since).toBeGreaterThan(before - 24 * 3_600_000 - 60_000);
  expect(since).toBeLessThanOrEqual(Date.now() - 24 * 3_600_000);
  expect(lastFilters().until).toBe("");
  expect(screen.queryByTestId("audit-since")).not.toBeInTheDocument();

  await userEvent.selectOptions(screen.getByTestId("audit-range"), "custom");
  const from = screen.getByTestId("audit-since");
  const until = screen.getByTestId("audit-until");
  expect(from).not.toHaveValue("");
  expect(until).not.toHaveValue("");
  await waitFor(() => expect(Date.parse(lastFilters().until)).toBeGreaterThan(Date.parse(lastFilters().since)));

  await userEvent.clear(from);
  await userEvent.type(from, "2026-11-30T09:15");
  await waitFor(() => expect(lastFilters().since).toBe(new Date("2026-11-30T09:15").toISOString()));

  await userEvent.click(screen.getByRole("button", { name: "Clear filters" }));
  expect(screen.getByTestId("audit-range")).toHaveDisplayValue("Any time");
  expect(screen.queryByTestId("audit-since")).not.toBeInTheDocument();
  await waitFor(() => expect(lastFilters()).toMatchObject({ since: "", until: "" }));
});

test("Export CSV sends the filters shown and says where the file went", async () => {
  vi.spyOn(apiKeys, "listApiKeys").mockResolvedValue({ data: [], total: 0, limit: 100, offset: 0, hasMore: false });
  vi.spyOn(events, "listEvents").mockResolvedValue({ data: [event(7)], total: 1, limit: 50, offset: 0, hasMore: false });
  const exported = vi.spyOn(events, "exportEventsCsv").mockResolvedValue({ path: "/home/v/Downloads/licentric-audit-log-1.csv", rows: 1 });
  render(<AuditList />);
  await userEvent.selectOptions(screen.getByTestId("audit-resource-type"), "license");
  await userEvent.click(screen.getByTestId("audit-export"));
  expect(await screen.findByTestId("audit-export-saved")).toHaveTextContent("Exported 1 event to /home/v/Downloads/licentric-audit-log-1.csv");
  expect(exported).toHaveBeenCalledWith(expect.objectContaining({ filters: expect.objectContaining({ resourceType: "license" }) }));
});
