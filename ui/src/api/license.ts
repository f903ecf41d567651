// Mirrors src-tauri/commands/license.rs.
import type { LicenseView } from "../bindings/LicenseView";
import type { Slots } from "../bindings/Slots";
import { call } from "./invoke";

export function licenseStatus(): Promise<LicenseView> {
  return call<LicenseView>("license_status");
}

export function activateLicense(key: string): Promise<LicenseView> {
  return call<LicenseView>("activate_license", { key });
}

export function licenseSlots(key: string | null): Promise<Slots> {
  return call<Slots>("license_slots", { key });
}

export function deactivateMachine(machineId: string, key: string | null): Promise<Slots> {
  return call<Slots>("deactivate_machine", { machineId, key });
}

export function deactivateThisMachine(): Promise<LicenseView> {
  return call<LicenseView>("deactivate_this_machine");
}
