// Mirrors src-tauri/commands/offline.rs.
import type { LicenseView } from "../bindings/LicenseView";
import type { OfflineRequest } from "../bindings/OfflineRequest";
import { call } from "./invoke";

export function offlineRequest(key: string): Promise<OfflineRequest> {
  return call<OfflineRequest>("offline_request", { key });
}

export function importLicenseFile(text: string, key: string | null): Promise<LicenseView> {
  return call<LicenseView>("import_license_file", { text, key });
}
