// Short notes after an action ("License suspended"), with Undo where the API can undo it.
// They stay 8 s (hover keeps them), and are read out by screen readers.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";

export type Toast = {
  message: string;
  kind?: "ok" | "error";
  /** E.g. Undo: runs, then the toast closes. */
  action?: { label: string; run: () => void };
};

type Shown = Toast & { id: number };

const ToastContext = createContext<(toast: Toast) => void>(() => {});

export function useToast(): (toast: Toast) => void {
  return useContext(ToastContext);
}

let next = 1;

export function ToastProvider(props: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Shown[]>([]);
  const close = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const show = useCallback(
    (toast: Toast) => {
      const id = next++;
      setToasts((all) => [...all.slice(-3), { ...toast, id }]);
      window.setTimeout(() => close(id), 8000);
    },
    [close],
  );
  const value = useMemo(() => show, [show]);
  return (
    <ToastContext.Provider value={value}>
      {props.children}
      <div className="toasts" aria-live="polite">
        {toasts.map((toast) => (
          <div key={toast.id} className={`toast toast-${toast.kind ?? "ok"}`} role="status" data-testid="toast">
            <span>{toast.message}</span>
            {toast.action && (
              <button
                type="button"
                className="button small"
                data-testid="toast-action"
                onClick={() => {
                  toast.action?.run();
                  close(toast.id);
                }}
              >
                {toast.action.label}
              </button>
            )}
            <button type="button" className="toast-close" aria-label="Close" onClick={() => close(toast.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}
