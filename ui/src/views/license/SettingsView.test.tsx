// Unit tests of the Settings view with the Rust side replaced: the rules themselves are
// Rust's (src-tauri/settings.rs), and the real path is covered by tests/e2e/settings.rs.
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import * as api from "../../api/settings";
import type { FieldProblem } from "../../bindings/FieldProblem";
import type { Settings } from "../../bindings/Settings";
import { SettingsView } from "./SettingsView";

const local: Settings = {
  localServer: true,
  serverUrl: "",
  productId: "",
  productSalt: "",
  publicKey: "",
  proxy: "",
  notifications: true,
  theme: "system",
};

// The rule book, reduced to what these tests need.
function problems(settings: Settings): FieldProblem[] {
  if (settings.localServer) return [];
  const found: FieldProblem[] = [];
  if (!settings.serverUrl.startsWith("http")) found.push({ field: "serverUrl", message: "This is not a web address.", blocking: true });
  if (!settings.productId) found.push({ field: "productId", message: "Enter the product id.", blocking: true });
  return found;
}

afterEach(() => vi.restoreAllMocks());

test("problems appear as fields are edited, untouched ones are listed, and Save waits for a valid form", async () => {
  const saved = { ...local, localServer: false, serverUrl: "https://licensing.example.com", productId: "prod-1" };
  vi.spyOn(api, "getSettings")
    .mockResolvedValueOnce({ settings: local, defaults: local, problems: [] })
    .mockResolvedValueOnce({ settings: saved, defaults: local, problems: [] });
  vi.spyOn(api, "checkSettings").mockImplementation(async (s) => problems(s));
  const save = vi.spyOn(api, "saveSettings").mockResolvedValue({
    version: "0.1.0",
    server: { mode: "remote", url: "https://licensing.example.com", problem: null, demoLicenseKey: null },
    settingsProblem: null,
    theme: "system",
  });
  const onSaved = vi.fn();
  render(<SettingsView onSaved={onSaved} serverProblem={null} />);

  const saveButton = await screen.findByTestId("save-settings");
  expect(saveButton).toBeDisabled();
  await userEvent.click(screen.getByTestId("server-remote"));
  await userEvent.type(screen.getByTestId("server-url"), "licensing.example.com");
  expect(await screen.findByTestId("problem-serverUrl")).toHaveTextContent("not a web address");
  expect(screen.queryByTestId("problem-productId")).toBeNull();
  expect(screen.getByTestId("settings-incomplete")).toHaveTextContent("Product id");
  expect(saveButton).toBeDisabled();

  await userEvent.clear(screen.getByTestId("server-url"));
  await userEvent.type(screen.getByTestId("server-url"), "https://licensing.example.com");
  await userEvent.type(screen.getByTestId("product-id"), "prod-1");
  await waitFor(() => expect(screen.queryByTestId("problem-serverUrl")).toBeNull());
  await waitFor(() => expect(saveButton).toBeEnabled());
  await userEvent.click(saveButton);
  expect(save).toHaveBeenCalledWith(expect.objectContaining({ localServer: false, serverUrl: "https://licensing.example.com", productId: "prod-1" }));
  expect(await screen.findByTestId("settings-saved")).toHaveTextContent("now uses https://licensing.example.com");
  expect(onSaved).toHaveBeenCalled();
  expect(saveButton).toBeDisabled();
  expect(screen.getByTestId("server-url")).toHaveValue("https://licensing.example.com");
});

test("a failed connection test says why, and editing the address clears the verdict", async () => {
  const remote = { ...local, localServer: false, serverUrl: "https://licensing.example.com", productId: "p", productSalt: "s" };
  vi.spyOn(api, "getSettings").mockResolvedValue({ settings: remote, defaults: local, problems: [] });
  vi.spyOn(api, "checkSettings").mockResolvedValue([]);
  vi.spyOn(api, "testConnection").mockRejectedValue({ code: "network", message: "Cannot reach the license server at https://licensing.example.com." });
  render(<SettingsView onSaved={() => undefined} serverProblem={null} />);
  await userEvent.click(await screen.findByTestId("test-connection"));
  expect(await screen.findByTestId("connection-result")).toHaveTextContent("Cannot reach the license server");
  await userEvent.type(screen.getByTestId("server-url"), "/");
  expect(screen.queryByTestId("connection-result")).toBeNull();
});

test("after a failed start, Save retries without a pretend edit", async () => {
  vi.spyOn(api, "getSettings").mockResolvedValue({ settings: local, defaults: local, problems: [] });
  vi.spyOn(api, "checkSettings").mockResolvedValue([]);
  render(<SettingsView onSaved={() => undefined} serverProblem="The local license server did not start." />);
  expect(await screen.findByTestId("save-settings")).toBeEnabled();
});

test("the diagnostics report is shown with where it was saved", async () => {
  vi.spyOn(api, "getSettings").mockResolvedValue({ settings: local, defaults: local, problems: [] });
  vi.spyOn(api, "checkSettings").mockResolvedValue([]);
  vi.spyOn(api, "exportDiagnostics").mockResolvedValue({ text: '{"app": {}}', savedTo: "/home/u/Downloads/licentric-diagnostics.json" });
  render(<SettingsView onSaved={() => undefined} serverProblem={null} />);
  await userEvent.click(await screen.findByTestId("export-diagnostics"));
  expect(await screen.findByTestId("diagnostics-text")).toHaveValue('{"app": {}}');
  expect(screen.getByTestId("diagnostics-saved")).toHaveTextContent("Downloads/licentric-diagnostics.json");
});
