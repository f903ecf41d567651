// Unit tests of the catalogue's shared pieces and the API-key form, with the Rust side
// replaced; the real paths are covered by tests/e2e/console_catalog.rs.
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import * as apiKeys from "../../api/console/apiKeys";
import { AppError } from "../../api/invoke";
import { NewApiKeyForm } from "./apiKeys/Form";
import { FormProblems, SecretOnce } from "./catalog";
import { durationText, wholeNumber } from "./policies/rules";
import { SessionContext } from "./session";
import { sessionWith } from "./testSession";

afterEach(() => vi.restoreAllMocks());

const session = sessionWith(["licenses:read", "licenses:write", "events:read"]);

test("a refusal naming only shown fields points at them; any other is said in full", () => {
  const fields = new AppError({ code: "invalid_request", message: "raw", details: { name: "must not be empty" } });
  const { rerender } = render(<FormProblems error={fields} fields={["name"]} />);
  expect(screen.getByTestId("form-error")).toHaveTextContent("one field needs fixing");
  expect(screen.getByTestId("form-error")).not.toHaveTextContent("raw");
  const other = new AppError({ code: "conflict", message: "The prefix is taken by another product.", details: {} });
  rerender(<FormProblems error={other} fields={["name"]} />);
  expect(screen.getByTestId("form-error")).toHaveTextContent("The prefix is taken by another product.");
});

test("policy values read in people's units", () => {
  expect(durationText(null)).toBe("Perpetual");
  expect(durationText(365 * 86_400)).toBe("365 days");
  expect(durationText(7200)).toBe("2 hours");
  expect(wholeNumber(" ")).toBeNull();
  expect(wholeNumber("12")).toBe(12);
  expect(wholeNumber("1.5")).toBeNaN();
  expect(wholeNumber("-3")).toBeNaN();
});

test("a new key can only get scopes the console's key holds", async () => {
  const create = vi.spyOn(apiKeys, "createApiKey").mockResolvedValue({
    id: "key-2",
    name: "Report",
    environment: "live",
    scopes: ["events:read"],
    displayPrefix: "lk_live_Zz9y",
    key: "lk_live_Zz9ySECRETSECRETSECRET",
    createdAt: "2026-12-01T10:00:00Z",
    lastUsedAt: null,
  });
  const created = vi.fn();
  render(
    <SessionContext.Provider value={session}>
      <NewApiKeyForm onCreated={created} onCancel={() => {}} />
    </SessionContext.Provider>,
  );
  expect(screen.getByTestId("scope-webhooks:write")).toBeDisabled();
  expect(screen.getByTestId("scope-licenses:write")).toBeEnabled();
  expect(screen.getByText(/lacks .*webhooks:write/)).toBeInTheDocument();
  await userEvent.type(screen.getByTestId("api-key-name"), "Report");
  await userEvent.click(screen.getByTestId("scope-events:read"));
  await userEvent.click(screen.getByTestId("api-key-submit"));
  expect(create).toHaveBeenCalledWith({ name: "Report", scopes: ["events:read"] });
  expect(created).toHaveBeenCalledWith(expect.objectContaining({ key: "lk_live_Zz9ySECRETSECRETSECRET" }));
});

test("a secret shown once warns, and leaves when dismissed", async () => {
  const dismissed = vi.fn();
  render(<SecretOnce title="New key" secret="lk_live_SECRET" why="Only a hash is kept." onDismiss={dismissed} />);
  expect(screen.getByTestId("secret-warning")).toHaveTextContent("will not be shown again");
  expect(screen.getByTestId("secret-value")).toHaveValue("lk_live_SECRET");
  await userEvent.click(screen.getByTestId("secret-dismiss"));
  expect(dismissed).toHaveBeenCalled();
});
