// Mirrors src-tauri/commands/settings.rs.
import type { AppInfo } from "../bindings/AppInfo";
import type { ConnectionTest } from "../bindings/ConnectionTest";
import type { Diagnostics } from "../bindings/Diagnostics";
import type { FieldProblem } from "../bindings/FieldProblem";
import type { Settings } from "../bindings/Settings";
import type { SettingsView } from "../bindings/SettingsView";
import { call } from "./invoke";

export function getSettings(): Promise<SettingsView> {
  return call<SettingsView>("get_settings");
}

export function checkSettings(settings: Settings): Promise<FieldProblem[]> {
  return call<FieldProblem[]>("check_settings", { settings });
}

export function saveSettings(settings: Settings): Promise<AppInfo> {
  return call<AppInfo>("save_settings", { settings });
}

export function testConnection(settings: Settings): Promise<ConnectionTest> {
  return call<ConnectionTest>("test_connection", { settings });
}

export function exportDiagnostics(): Promise<Diagnostics> {
  return call<Diagnostics>("export_diagnostics");
}
