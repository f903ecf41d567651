// The one door to the Rust side. Every command fails with a `CommandError`
// ({code, message, details}); this turns whatever arrives into an `AppError` the views can
// show, with the server's per-field problems for forms.
import { invoke } from "@tauri-apps/api/core";
import type { CommandError } from "../bindings/CommandError";
import type { ErrorCode } from "../bindings/ErrorCode";

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Per-field problems of a refused form: field name → what is wrong. */
  readonly details: Record<string, string>;

  constructor({ code, message, details }: CommandError) {
    super(message);
    this.name = "AppError";
    this.code = code;
    const fields: Record<string, string> = {};
    for (const [field, problem] of Object.entries(details ?? {})) {
      if (problem !== undefined) fields[field] = problem;
    }
    this.details = fields;
  }
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (
    typeof error === "object" &&
    error !== null &&
    typeof (error as CommandError).code === "string" &&
    typeof (error as CommandError).message === "string"
  ) {
    return new AppError(error as CommandError);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new AppError({
    code: "internal",
    message: `The app could not complete this action (${message}). Restart the app and try again.`,
    details: {},
  });
}

export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toAppError(error);
  }
}
