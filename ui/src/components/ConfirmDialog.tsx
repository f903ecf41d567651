import { useEffect, useRef } from "react";

/** A modal question with a safe default: Escape and Cancel leave everything as it was. */
export function ConfirmDialog(props: {
  title: string;
  body: string;
  confirmLabel: string;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <div className="backdrop" onKeyDown={(e) => e.key === "Escape" && props.onCancel()}>
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-title" data-testid="confirm-dialog">
        <h2 id="confirm-title">{props.title}</h2>
        <p>{props.body}</p>
        <div className="dialog-actions">
          <button ref={cancel} type="button" className="button" onClick={props.onCancel} disabled={props.busy}>
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
