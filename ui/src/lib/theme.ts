// Light, dark, or the system's choice (followed live). The stylesheet keys its colours
// on <html data-theme="light|dark">.
import type { Theme } from "../bindings/Theme";

let unfollow: (() => void) | null = null;

export function applyTheme(theme: Theme): void {
  unfollow?.();
  unfollow = null;
  const root = document.documentElement;
  if (theme !== "system") {
    root.dataset.theme = theme;
    return;
  }
  const query = window.matchMedia?.("(prefers-color-scheme: dark)");
  const follow = () => {
    root.dataset.theme = query?.matches ? "dark" : "light";
  };
  follow();
  query?.addEventListener("change", follow);
  unfollow = () => query?.removeEventListener("change", follow);
}
