// uPlot makes `new Intl.NumberFormat(navigator.language)` as it loads. A POSIX locale such
// as "C" (servers, CI, minimal Linux desktops) is no BCP 47 tag, so that throws and the
// module never loads; such a web view gets "en-US" instead. Imported before uPlot.
function isLanguageTag(tag: string): boolean {
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

if (typeof navigator !== "undefined" && !isLanguageTag(navigator.language)) {
  Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
}

export {};
