// Mirrors src-tauri/commands/app.rs.
import type { AppInfo } from "../bindings/AppInfo";
import { call } from "./invoke";

export function appInfo(): Promise<AppInfo> {
  return call<AppInfo>("app_info");
}

/** Opens the vendor console in its own window (or brings it to the front). */
export function openConsole(): Promise<null> {
  return call<null>("open_console");
}
