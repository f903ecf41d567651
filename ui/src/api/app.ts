// Mirrors src-tauri/commands/app.rs.
import type { AppInfo } from "../bindings/AppInfo";
import { call } from "./invoke";

export function appInfo(): Promise<AppInfo> {
  return call<AppInfo>("app_info");
}
