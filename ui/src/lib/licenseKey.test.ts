import { checkKey, normalizeKey } from "./licenseKey";

test("case and spaces are forgiven, the shape is not", () => {
  expect(normalizeKey("  demo-a2b3 -c4d5-e6f7-g8h9\n")).toBe("DEMO-A2B3-C4D5-E6F7-G8H9");
  expect(checkKey(" demo-a2b3-c4d5-e6f7-g8h9 ")).toEqual({ ok: true, key: "DEMO-A2B3-C4D5-E6F7-G8H9" });
  expect(checkKey("")).toEqual({ ok: false, hint: null });
  expect(checkKey("DEMO-A2B3")).toMatchObject({ ok: false, hint: expect.stringContaining("Keep typing") });
  expect(checkKey("DEMO-A2B3-C4D5-E6F7-G8H9X")).toMatchObject({ ok: false, hint: expect.stringContaining("Too long") });
  expect(checkKey("DEMO-A2B3-C4D5-E6F7-G8H!")).toMatchObject({ ok: false, hint: expect.stringContaining("Only letters") });
});
