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

/**
 * Tells the app the License view is on screen, for the launch benchmark (the app logs
 * `launch: painted`). Nothing depends on it, so a failure is ignored.
 */
export function launchPainted(): Promise<void> {
  return call<null>("launch_painted").then(
    () => undefined,
    () => undefined,
  );
}
