// The license key's shape, checked as the user types: PREFIX-XXXX-XXXX-XXXX-XXXX.
// Case and stray spaces are forgiven (keys are pasted from e-mails); the shape is not.

const KEY = /^[A-Z][A-Z0-9]{1,11}(-[A-Z0-9]{4}){4}$/;

/** The canonical spelling: trimmed, spaces removed, upper case. */
export function normalizeKey(input: string): string {
  return input.replace(/\s+/g, "").toUpperCase();
}

export type KeyCheck = { ok: true; key: string } | { ok: false; hint: string | null };

/** Whether `input` is a well-formed key; a hint while it is not (none while empty). */
export function checkKey(input: string): KeyCheck {
  const key = normalizeKey(input);
  if (key === "") return { ok: false, hint: null };
  if (KEY.test(key)) return { ok: true, key };
  const groups = key.split("-");
  if (groups.length > 5 || groups.slice(1).some((g) => g.length > 4)) {
    return { ok: false, hint: "Too long: a key is a prefix and four groups of four, e.g. DEMO-A2B3-C4D5-E6F7-G8H9." };
  }
  if (/[^A-Z0-9-]/.test(key)) {
    return { ok: false, hint: "Only letters, digits and dashes belong in a key." };
  }
  return { ok: false, hint: "Keep typing: a key looks like DEMO-A2B3-C4D5-E6F7-G8H9." };
}
