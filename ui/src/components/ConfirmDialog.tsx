import { useEffect, useRef, type KeyboardEvent } from "react";

/** A modal question with a safe default: Escape and Cancel leave everything as it was.
 * The focus starts on Cancel, stays inside the dialog while it is open (Tab and Shift+Tab
 * go round its buttons), and goes back to the button that opened it when it closes — or,
 * when the answer removed that button (Suspend becomes Reinstate), to `returnFocus()`. */
export function ConfirmDialog(props: {
  title: string;
  body: string;
  confirmLabel: string;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  /** Where the focus goes when the opener is gone after the dialog closes. */
  returnFocus?: () => HTMLElement | null | undefined;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  const dialog = useRef<HTMLDivElement>(null);
  const returnFocus = useRef(props.returnFocus);
  useEffect(() => {
    returnFocus.current = props.returnFocus;
  });
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    cancel.current?.focus();
    return () => {
      // Runs after the page has re-rendered with the answer, so the opener may be gone.
      const target = opener?.isConnected && opener !== document.body ? opener : returnFocus.current?.();
      target?.focus();
    };
  }, []);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      if (!props.busy) props.onCancel();
      return;
    }
    if (e.key !== "Tab" || !dialog.current) return;
    const buttons = [...dialog.current.querySelectorAll<HTMLElement>("button:not(:disabled), [href], input, textarea, select")];
    const first = buttons[0];
    const last = buttons.at(-1);
    if (!first || !last) {
      // Both buttons are disabled while the answer is on its way: the focus stays put.
      e.preventDefault();
      return;
    }
    const inside = dialog.current.contains(document.activeElement);
    if (e.shiftKey && (document.activeElement === first || !inside)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
      e.preventDefault();
      first.focus();
    }
  };
  return (
    <div className="backdrop" onKeyDown={onKeyDown}>
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        aria-describedby="confirm-body"
        data-testid="confirm-dialog"
        ref={dialog}
      >
        <h2 id="confirm-title">{props.title}</h2>
        <p id="confirm-body">{props.body}</p>
        <div className="dialog-actions">
          <button
            ref={cancel}
            type="button"
            className="button"
            data-testid="confirm-cancel"
            onClick={props.onCancel}
            disabled={props.busy}
          >
            Cancel
          </button>
          <button type="button" className="button danger" data-testid="confirm-button" onClick={props.onConfirm} disabled={props.busy}>
            {props.busy ? "Working…" : props.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
