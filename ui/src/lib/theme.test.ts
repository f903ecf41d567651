import { applyTheme } from "./theme";

test("a chosen theme is applied as is, and system follows the OS", () => {
  let dark = true;
  const listeners: Array<() => void> = [];
  window.matchMedia = ((query: string) => ({
    get matches() {
      return query.includes("dark") && dark;
    },
    addEventListener: (_: string, listener: () => void) => listeners.push(listener),
    removeEventListener: () => undefined,
  })) as unknown as typeof window.matchMedia;

  applyTheme("light");
  expect(document.documentElement.dataset.theme).toBe("light");
  applyTheme("system");
  expect(document.documentElement.dataset.theme).toBe("dark");
  dark = false;
  listeners.forEach((listener) => listener());
  expect(document.documentElement.dataset.theme).toBe("light");
  applyTheme("dark");
  expect(document.documentElement.dataset.theme).toBe("dark");
});
