// Mirrors src-tauri/commands/console/licenses.rs.
import { Channel } from "@tauri-apps/api/core";
import type { ActionResults } from "../../bindings/ActionResults";
import type { BulkIssue } from "../../bindings/BulkIssue";
import type { DiagnoseRequest } from "../../bindings/DiagnoseRequest";
import type { Diagnosis } from "../../bindings/Diagnosis";
import type { ExportQuery } from "../../bindings/ExportQuery";
import type { ImportReport } from "../../bindings/ImportReport";
import type { IssuedLicenses } from "../../bindings/IssuedLicenses";
import type { IssueProgress } from "../../bindings/IssueProgress";
import type { License } from "../../bindings/License";
import type { LicenseAction } from "../../bindings/LicenseAction";
import type { LicenseUpdate } from "../../bindings/LicenseUpdate";
import type { ListQuery } from "../../bindings/ListQuery";
import type { NewLicense } from "../../bindings/NewLicense";
import type { Page } from "../../bindings/Page";
import type { SavedExport } from "../../bindings/SavedExport";
import { call } from "../invoke";

export const listLicenses = (query: ListQuery) => call<Page<License>>("list_licenses", { query });
export const getLicense = (id: string) => call<License>("get_license", { id });
export const createLicense = (license: NewLicense) => call<License>("create_license", { license });
export const updateLicense = (id: string, update: LicenseUpdate) => call<License>("update_license", { id, update });
/** Suspend, reinstate, revoke, ban, renew or delete; the license as it is now (`null` once deleted). */
export const licenseAction = (id: string, action: LicenseAction) =>
  call<License | null>("license_action", { id, action });
export const attachEntitlements = (id: string, codes: string[]) =>
  call<License>("attach_entitlements", { id, codes });
export const detachEntitlement = (id: string, code: string) => call<License>("detach_entitlement", { id, code });
export const diagnoseLicense = (id: string, request: DiagnoseRequest) =>
  call<Diagnosis>("diagnose_license", { id, request });
export const actOnLicenses = (action: LicenseAction, ids: string[]) =>
  call<ActionResults>("act_on_licenses", { action, ids });

/** Issues many licenses in batches; `onProgress` hears each batch; `cancelConsoleJob(job)` stops it. */
export function issueLicenses(
  issue: BulkIssue,
  job: string,
  onProgress: (progress: IssueProgress) => void,
): Promise<IssuedLicenses> {
  const progress = new Channel<IssueProgress>();
  progress.onmessage = onProgress;
  return call<IssuedLicenses>("issue_licenses", { issue, job, progress });
}
export const cancelConsoleJob = (job: string) => call<null>("cancel_console_job", { job });
export const importLicenses = (csv: string, dryRun: boolean) =>
  call<ImportReport>("import_licenses", { csv, dryRun });
export const exportLicensesCsv = (exportQuery: ExportQuery) =>
  call<SavedExport>("export_licenses_csv", { export: exportQuery });
