// Mirrors src-tauri/commands/console/support.rs.
import type { IssuedLicenseFile } from "../../bindings/IssuedLicenseFile";
import type { ReadRequest } from "../../bindings/ReadRequest";
import type { RequestReview } from "../../bindings/RequestReview";
import type { SavedFile } from "../../bindings/SavedFile";
import { call } from "../invoke";

export const readActivationRequest = (bytesBase64: string) =>
  call<ReadRequest>("read_activation_request", { bytesBase64 });
export const reviewActivationRequest = (request: string, productId: string | null) =>
  call<RequestReview>("review_activation_request", { request, productId });
export const issueOfflineLicense = (request: string) => call<IssuedLicenseFile>("issue_offline_license", { request });
export const saveLicenseFile = (certificate: string, machineName: string) =>
  call<SavedFile>("save_license_file", { certificate, machineName });
