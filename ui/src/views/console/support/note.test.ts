import { describe, expect, it } from "vitest";
import type { IssuedLicenseFile } from "../../../bindings/IssuedLicenseFile";
import { customerNote } from "./note";

const file = {
  certificate: "-----BEGIN LICENTRIC LICENSE FILE-----\n",
  fileName: "licentric-license-lab-pc-3.lic",
  machine: { name: "Lab PC 3" },
  license: { expiresAt: null },
  worksOfflineUntil: null,
} as unknown as IssuedLicenseFile;

describe("the message for the customer", () => {
  it("says where the file goes in the app and that it is bound to the machine", () => {
    const note = customerNote(file, "Lab PC 3", null);
    expect(note).toContain("licentric-license-lab-pc-3.lic");
    expect(note).toContain('On Lab PC 3, open the app\'s Offline activation and go on to step 2, "Import"');
    expect(note).toContain('"Verify and import"');
    expect(note).toContain("works on that machine only");
    expect(note).not.toContain("runs until");
  });

  it("names the file as saved, and the license's end when it has one", () => {
    const saved = { path: "/home/ann/Downloads/licentric-license-lab-pc-3-2.lic", folder: "/home/ann/Downloads" };
    const expiring = { ...file, license: { ...file.license, expiresAt: "2027-03-01T00:00:00Z" } } as IssuedLicenseFile;
    const note = customerNote(expiring, "Lab PC 3", saved);
    expect(note).toContain("(licentric-license-lab-pc-3-2.lic)");
    expect(note).toContain("Your license runs until");
    const fresh = customerNote({ ...file, worksOfflineUntil: "2026-03-15T00:00:00Z" }, "Lab PC 3", null);
    expect(fresh).toContain("work offline until");
    expect(fresh).toContain("make a new request");
  });
});
