// Unit tests of the License view's behaviour with the Rust side replaced: the real path
// (web view → command → SDK → server) is covered by tests/e2e/license.rs.
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import { AppError } from "../../api/invoke";
import * as license from "../../api/license";
import type { LicenseView as View } from "../../bindings/LicenseView";
import type { Slots } from "../../bindings/Slots";
import { LicenseView } from "./LicenseView";

const notActivated: View = {
  licensed: false,
  error: { code: "not_activated", message: "No license is activated on this machine." },
  info: null,
  slots: null,
  heartbeats: false,
  checkedAt: new Date().toISOString(),
};

const slots: Slots = {
  used: 2,
  max: 3,
  machines: [
    { id: "m1", name: "This laptop", platform: "linux", heartbeatStatus: "NOT_STARTED", lastHeartbeatAt: null, activatedAt: "2026-03-01T09:00:00Z", thisMachine: true },
    { id: "m2", name: "Old desktop", platform: "windows", heartbeatStatus: "ALIVE", lastHeartbeatAt: "2026-03-01T09:00:00Z", activatedAt: "2026-02-01T09:00:00Z", thisMachine: false },
  ],
};

const activeInfo: NonNullable<View["info"]> = {
    licenseKey: "DEMO-****-****-****-G8H9", licenseId: "lic", productId: "p", status: "active", variant: null, message: null,
    machinesUsed: 2, maxMachines: 3, expiresAt: "2099-01-15T00:00:00Z", licenseExpiresAt: "2099-03-01T00:00:00Z", daysRemaining: 300,
    entitlements: ["export_pdf"], standing: "online", graceEndsAt: null, lastOnlineAt: "2026-03-01T09:00:00Z", machineId: "m1",
    fingerprint: "f", heartbeatInterval: null,
};

const active: View = { licensed: true, error: null, info: activeInfo, slots, heartbeats: false, checkedAt: new Date().toISOString() };

afterEach(() => vi.restoreAllMocks());

test("an unactivated machine is told so and the key's format is checked as typed", async () => {
  vi.spyOn(license, "licenseStatus").mockResolvedValue(notActivated);
  render(<LicenseView demoKey={null} />);
  expect(await screen.findByTestId("status-label")).toHaveTextContent("Not activated");
  const input = screen.getByLabelText("License key");
  await userEvent.type(input, "demo-a2b3");
  expect(screen.getByTestId("key-hint")).toHaveTextContent("Keep typing");
  expect(screen.getByTestId("activate-button")).toBeDisabled();
  await userEvent.type(input, "-c4d5-e6f7-g8h9 ");
  expect(screen.getByTestId("key-hint")).toHaveTextContent("Ready: DEMO-A2B3-C4D5-E6F7-G8H9");
  expect(screen.getByTestId("activate-button")).toBeEnabled();
});

test("activating shows the license, its expiry, entitlements and slots with this machine marked", async () => {
  vi.spyOn(license, "licenseStatus").mockResolvedValue(notActivated);
  const activate = vi.spyOn(license, "activateLicense").mockResolvedValue(active);
  render(<LicenseView demoKey={null} />);
  await userEvent.type(await screen.findByLabelText("License key"), "DEMO-A2B3-C4D5-E6F7-G8H9");
  await userEvent.click(screen.getByTestId("activate-button"));
  expect(activate).toHaveBeenCalledWith("DEMO-A2B3-C4D5-E6F7-G8H9");
  expect(await screen.findByTestId("status-label")).toHaveTextContent("Active");
  expect(screen.getByTestId("slots-meter")).toHaveTextContent("2 of 3 seats used");
  expect(screen.getByTestId("entitlements")).toHaveTextContent("export_pdf");
  expect(screen.getByTestId("license-expiry").textContent).toMatch(/\(in \d+ days\)/);
  const rows = screen.getAllByTestId("machine-row");
  expect(rows[0]).toHaveTextContent("This machine");
  expect(rows[0]?.querySelector("[data-testid=deactivate-machine]")).toBeNull();
});

test("a full license keeps the key and offers to free a slot, after confirmation", async () => {
  vi.spyOn(license, "licenseStatus").mockResolvedValue(notActivated);
  vi.spyOn(license, "activateLicense").mockRejectedValue(new AppError({ code: "machine_limit", message: "Already on 3 of 3 machines.", details: {} }));
  vi.spyOn(license, "licenseSlots").mockResolvedValue({ ...slots, used: 3, machines: slots.machines.map((m) => ({ ...m, thisMachine: false })) });
  const deactivate = vi.spyOn(license, "deactivateMachine").mockResolvedValue({ ...slots, used: 1, machines: [] });
  render(<LicenseView demoKey={null} />);
  const input = await screen.findByLabelText("License key");
  await userEvent.type(input, "DEMO-A2B3-C4D5-E6F7-G8H9");
  await userEvent.click(screen.getByTestId("activate-button"));
  expect(await screen.findByTestId("error-message")).toHaveTextContent("Already on 3 of 3 machines.");
  expect(await screen.findByTestId("free-a-slot")).toHaveTextContent("Choose a machine to deactivate");
  expect(input).toHaveValue("DEMO-A2B3-C4D5-E6F7-G8H9");
  await userEvent.click(nth(screen.getAllByTestId("deactivate-machine"), 1));
  expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Deactivate Old desktop?");
  await userEvent.click(screen.getByText("Cancel"));
  expect(deactivate).not.toHaveBeenCalled();
  await userEvent.click(nth(screen.getAllByTestId("deactivate-machine"), 1));
  await userEvent.click(screen.getByTestId("confirm-button"));
  await waitFor(() => expect(deactivate).toHaveBeenCalledWith("m2", "DEMO-A2B3-C4D5-E6F7-G8H9"));
  expect(await screen.findByTestId("slots-meter")).toHaveTextContent("1 of 3 seats used");
});

test("offline, the view says until when the license works and why slots are missing", async () => {
  vi.spyOn(license, "licenseStatus").mockResolvedValue({
    ...active,
    slots: null,
    info: { ...activeInfo, standing: "offline", message: "Working offline on a license checked until 2099-01-15 00:00 UTC." },
  });
  render(<LicenseView demoKey={null} />);
  expect(await screen.findByTestId("status-label")).toHaveTextContent("Offline");
  expect(screen.getByTestId("status-message")).toHaveTextContent("Working offline");
  expect(screen.getByTestId("offline-until")).toBeInTheDocument();
  expect(screen.getByTestId("slots-offline")).toBeInTheDocument();
});

function nth(elements: HTMLElement[], index: number): HTMLElement {
  const element = elements[index];
  if (!element) throw new Error(`no element ${index}`);
  return element;
}

test("with the clock set back, dates are shown but nothing is counted from that clock", async () => {
  const tampered: View = {
    ...active,
    licensed: false,
    slots: null,
    error: { code: "clock_tampered", message: "The system clock is behind a time this app already trusted. Set the clock to the correct time." },
    info: { ...activeInfo, standing: "clock_tampered", expiresAt: "2026-12-06T11:52:00Z" },
  };
  vi.spyOn(license, "licenseStatus").mockResolvedValue(tampered);
  render(<LicenseView demoKey={null} />);
  expect(await screen.findByTestId("status-label")).toHaveTextContent("Clock problem");
  expect(screen.getByTestId("status-message")).toHaveTextContent("Set the clock");
  expect(screen.getByTestId("license-expiry").textContent).not.toMatch(/\(in /);
  expect(screen.queryByTestId("offline-until")).toBeNull();
});
