// Marks a later benchmark reads through WebDriver (`performance.getEntriesByType('measure')`):
// from a navigation or a settled search to its first page on screen.

/** Starts timing `name` now; answers the start time to hand to `ready`. */
export function startTiming(name: string): number {
  performance.mark(`${name}-start`);
  return performance.now();
}

/** The first page of `name` is on screen: records `<name>-ready` and the measure `<name>`. */
export function ready(name: string, start: number, detail: Record<string, unknown>): void {
  // After the browser has painted the rows, not merely after React committed them.
  requestAnimationFrame(() => {
    const end = performance.now();
    performance.mark(`${name}-ready`);
    try {
      performance.measure(name, { start, end, detail });
    } catch {
      // An engine without measure options still has the marks.
    }
  });
}
