// The license's standing in plain words: a label, a tone, and what to do.
import type { LicenseView } from "../bindings/LicenseView";

export type Tone = "ok" | "info" | "warn" | "bad";

export interface StatusWords {
  label: string;
  tone: Tone;
}

const REFUSALS: Record<string, StatusWords> = {
  not_activated: { label: "Not activated", tone: "info" },
  not_found: { label: "Invalid license key", tone: "bad" },
  expired: { label: "Expired", tone: "bad" },
  revoked: { label: "Revoked", tone: "bad" },
  suspended: { label: "Suspended", tone: "bad" },
  machine_limit: { label: "Too many devices", tone: "bad" },
  network: { label: "Cannot reach the license server", tone: "bad" },
  invalid_token: { label: "License check failed", tone: "bad" },
  clock_tampered: { label: "Clock problem", tone: "bad" },
  uses_exceeded: { label: "Usage limit reached", tone: "bad" },
};

export function statusWords(view: LicenseView): StatusWords {
  if (view.licensed) {
    switch (view.info?.standing) {
      case "grace":
        return { label: "Grace period", tone: "warn" };
      case "offline":
        return { label: "Offline", tone: "info" };
      case "offline_file":
        return { label: "Offline license file", tone: "info" };
      default:
        return { label: "Active", tone: "ok" };
    }
  }
  return REFUSALS[view.error?.code ?? "not_activated"] ?? { label: "Not licensed", tone: "bad" };
}

/** Whether the activation form belongs on screen. */
export function needsActivation(view: LicenseView): boolean {
  return !view.licensed && ["not_activated", "not_found", "revoked", "expired"].includes(view.error?.code ?? "not_activated");
}
