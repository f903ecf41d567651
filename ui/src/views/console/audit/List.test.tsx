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
