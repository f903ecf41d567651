// Mirrors src-tauri/commands/license.rs.
import type { LicenseCheck } from "../bindings/LicenseCheck";
import { call } from "./invoke";

export function validateLicense(key: string): Promise<LicenseCheck> {
  return call<LicenseCheck>("validate_license", { key });
}
