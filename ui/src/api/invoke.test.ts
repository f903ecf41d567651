import { AppError, toAppError } from "./invoke";

test("a CommandError from Rust keeps its code and message", () => {
  const error = toAppError({ code: "network", message: "Cannot reach the server.", details: { url: "unreachable" } });
  expect(error).toBeInstanceOf(AppError);
  expect(error.code).toBe("network");
  expect(error.message).toBe("Cannot reach the server.");
  expect(error.details).toEqual({ url: "unreachable" });
});

test("anything else becomes an internal error that says what to do", () => {
  const error = toAppError("IPC exploded");
  expect(error.code).toBe("internal");
  expect(error.message).toContain("IPC exploded");
  expect(error.message).toContain("Restart the app");
});
