// What support tells the customer with the license file: where it goes (the app's
// Offline activation, step 2) and that it is bound to that machine.
import type { IssuedLicenseFile } from "../../../bindings/IssuedLicenseFile";
import type { SavedFile } from "../../../bindings/SavedFile";

export function customerNote(file: IssuedLicenseFile, machineName: string, saved: SavedFile | null): string {
  const name = saved ? saved.path.split(/[\\/]/).pop() : file.fileName;
  const until = file.license.expiresAt ? ` Your license runs until ${longDate(file.license.expiresAt)}.` : "";
  const offline = file.worksOfflineUntil
    ? `The file lets the app work offline until ${longDate(file.worksOfflineUntil)}. Before then, make a new request on the same screen and send it to us for a fresh file.`
    : null;
  return [
    `Your license file is attached (${name}).`,
    `On ${machineName}, open the app's Offline activation and go on to step 2, "Import" (click "Next: import the license file"; if the app was restarted since you sent the request, click "Create request" first). Drop the file there, or paste its contents, and click "Verify and import".`,
    `The file works on that machine only; keep it in case you reinstall.${until}`,
    offline,
  ]
    .filter(Boolean)
    .join("\n\n");
}

/** "1 December 2027": a customer anywhere reads it the same way, unlike 12/1/2027. */
function longDate(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: "long" });
}
