// Policy values in the units people think in: the server keeps seconds, people say days
// and minutes.
export const DAY = 86_400;

export function durationText(seconds: number | null): string {
  if (seconds === null) return "Perpetual";
  const days = seconds / DAY;
  if (days >= 1 && Number.isInteger(days)) return days === 1 ? "1 day" : `${days} days`;
  const hours = Math.round(seconds / 3600);
  return hours === 1 ? "1 hour" : `${hours} hours`;
}

/** A whole number typed in a box, `null` when blank; `NaN` when not a whole number. */
export function wholeNumber(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const value = Number(trimmed);
  return Number.isInteger(value) && value >= 0 ? value : Number.NaN;
}
