// The app's mark: a key in a rounded square, in the accent colour.
export function KeyMark() {
  return (
    <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" />
      <circle cx="11.5" cy="16" r="4.5" fill="none" strokeWidth="2.5" />
      <path d="M16 14.9h10v2.2h-2v3.4h-2.2v-3.4H16z" />
    </svg>
  );
}
