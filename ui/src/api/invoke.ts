// The one door to the Rust side. Every command fails with a `CommandError`
// ({code, message}); this turns whatever arrives into an `AppError` the views can show.
import { invoke } from "@tauri-apps/api/core";
import type { CommandError } from "../bindings/CommandError";

export class AppError extends Error {
  readonly code: string;

  constructor({ code, message }: CommandError) {
    super(message);
    this.name = "AppError";
    this.code = code;
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
  });
}

export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toAppError(error);
  }
}
