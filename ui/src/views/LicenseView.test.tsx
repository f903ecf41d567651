// Unit tests of the view's behaviour with the Rust side replaced: the real path
// (web view → command → SDK → server) is covered by tests/e2e_license.rs.
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import { AppError } from "../api/invoke";
import * as license from "../api/license";
import type { LicenseCheck } from "../bindings/LicenseCheck";
import { LicenseView } from "./LicenseView";

const valid: LicenseCheck = {
  result: {
    valid: true,
    code: "VALID",
    license: {
      id: "lic-1",
      status: "active",
      productId: "p",
      policyId: "q",
      expiresAt: "2099-01-01T00:00:00Z",
    },
    machine: null,
    entitlements: [],
    serverTime: "2026-03-01T09:00:00Z",
    token: null,
  },
  explanation: { title: "License is valid", cause: "All good.", nextStep: "Nothing to do." },
};

afterEach(() => vi.restoreAllMocks());

test("validating shows the code, the plain-words title and the expiry", async () => {
  const spy = vi.spyOn(license, "validateLicense").mockResolvedValue(valid);
  render(<LicenseView demoKey={null} />);
  await userEvent.type(screen.getByLabelText("License key"), "DEMO-AAAA-BBBB-CCCC-DDDD");
  await userEvent.click(screen.getByRole("button", { name: "Validate" }));
  expect(spy).toHaveBeenCalledWith("DEMO-AAAA-BBBB-CCCC-DDDD");
  expect(await screen.findByTestId("validation-code")).toHaveTextContent("VALID");
  expect(screen.getByTestId("validation-title")).toHaveTextContent("License is valid");
  expect(screen.getByTestId("license-expiry").textContent).toMatch(/^.+ \(in \d+ days\)$/);
  expect(screen.queryByTestId("validation-next-step")).toBeNull();
});

test("an invalid key shows what to do next", async () => {
  vi.spyOn(license, "validateLicense").mockResolvedValue({
    result: {
      valid: false,
      code: "NOT_FOUND",
      license: null,
      machine: null,
      entitlements: [],
      serverTime: "2026-03-01T09:00:00Z",
      token: null,
    },
    explanation: { title: "Invalid license key", cause: "No such key.", nextStep: "Check the key for typos." },
  });
  render(<LicenseView demoKey={null} />);
  await userEvent.type(screen.getByLabelText("License key"), "NOPE");
  await userEvent.click(screen.getByRole("button", { name: "Validate" }));
  expect(await screen.findByTestId("validation-code")).toHaveTextContent("NOT_FOUND");
  expect(screen.getByTestId("validation-next-step")).toHaveTextContent("Check the key for typos.");
});

test("a failed call shows its message and keeps what the user typed", async () => {
  vi.spyOn(license, "validateLicense").mockRejectedValue(
    new AppError({ code: "network", message: "Cannot reach the license server." }),
  );
  render(<LicenseView demoKey={null} />);
  const input = screen.getByLabelText("License key");
  await userEvent.type(input, "DEMO-AAAA-BBBB-CCCC-DDDD");
  await userEvent.click(screen.getByRole("button", { name: "Validate" }));
  expect(await screen.findByTestId("error-message")).toHaveTextContent("Cannot reach the license server.");
  expect(input).toHaveValue("DEMO-AAAA-BBBB-CCCC-DDDD");
});

test("the demo key can be put in the field with one click", async () => {
  render(<LicenseView demoKey="DEMO-2345-6789-ABCD-EFGH" />);
  await userEvent.click(screen.getByRole("button", { name: "Use it" }));
  expect(screen.getByLabelText("License key")).toHaveValue("DEMO-2345-6789-ABCD-EFGH");
});
