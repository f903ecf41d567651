// Human wording for dates and durations.

const DAY_MS = 24 * 60 * 60 * 1000;

/** "in 364 days", "in 5 hours", "3 days ago", "just now". */
export function relativeTo(iso: string, now: Date = new Date()): string {
  const diff = new Date(iso).getTime() - now.getTime();
  const abs = Math.abs(diff);
  // A heartbeat sent seconds ago was not "1 minute ago"; a deadline seconds away is.
  if (diff <= 0 && abs < 60000) return "just now";
  const [value, unit] =
    abs >= DAY_MS
      ? // Rounded, so a license bought a year ago today reads "365 days", not "364".
        [Math.round(abs / DAY_MS), "day"]
      : abs >= 60 * 60 * 1000
        ? [Math.floor(abs / (60 * 60 * 1000)), "hour"]
        : [Math.max(1, Math.floor(abs / 60000)), "minute"];
  const phrase = `${value} ${unit}${value === 1 ? "" : "s"}`;
  return diff >= 0 ? `in ${phrase}` : `${phrase} ago`;
}

/** A date in the reader's locale, with the time: "1 Mar 2027, 09:00". */
export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}
