import { useState } from "react";
import { type AppError, toAppError } from "../api/invoke";
import { deactivateMachine } from "../api/license";
import type { SlotMachine } from "../bindings/SlotMachine";
import type { Slots } from "../bindings/Slots";
import { formatDateTime, relativeTo } from "../lib/time";
import { ConfirmDialog } from "./ConfirmDialog";

/** The machine slots: a meter, then each machine, this one marked, each removable. */
export function SlotsCard(props: { slots: Slots; licenseKey: string | null; onChanged: (slots: Slots) => void }) {
  const { slots } = props;
  const [asking, setAsking] = useState<SlotMachine | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const percent = slots.max ? Math.min(100, Math.round((slots.used / slots.max) * 100)) : 0;

  async function confirm() {
    if (!asking) return;
    setBusy(true);
    setError(null);
    try {
      props.onChanged(await deactivateMachine(asking.id, props.licenseKey));
      setAsking(null);
    } catch (e) {
      setError(toAppError(e));
      setAsking(null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="slots-heading">
      <div className="card-head">
        <h2 id="slots-heading">Machine slots</h2>
        <span className="meter-label" data-testid="slots-meter">
          {slots.max === null ? `${slots.used} machines (unlimited)` : `${slots.used} of ${slots.max} seats used`}
        </span>
      </div>
      {slots.max !== null && (
        <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={slots.max} aria-valuenow={slots.used} aria-label="Seats used">
          <div className={`meter-fill ${slots.used >= slots.max ? "full" : ""}`} style={{ width: `${percent}%` }} />
        </div>
      )}
      {error && (
        <div className="alert alert-error" role="alert" data-testid="slots-error">
          {error.message}
        </div>
      )}
      <ul className="machines">
        {slots.machines.map((machine) => (
          <li key={machine.id} className="machine" data-testid="machine-row" data-this-machine={machine.thisMachine}>
            <div>
              <div className="machine-name">
                {machine.name ?? "Unnamed machine"}
                {machine.thisMachine && <span className="tag">This machine</span>}
              </div>
              <div className="muted small">
                {machine.platform ?? "unknown platform"} · activated {formatDateTime(machine.activatedAt)} ·{" "}
                {machine.lastHeartbeatAt ? `last heartbeat ${relativeTo(machine.lastHeartbeatAt)}` : "no heartbeat yet"}
                {machine.heartbeatStatus === "DEAD" && <span className="tag tag-bad">missed heartbeat</span>}
              </div>
            </div>
            {!machine.thisMachine && (
              <button type="button" className="button" data-testid="deactivate-machine" onClick={() => setAsking(machine)}>
                Deactivate
              </button>
            )}
          </li>
        ))}
      </ul>
      {asking && (
        <ConfirmDialog
          title={`Deactivate ${asking.name ?? "this machine"}?`}
          body="This frees its seat. The license stops working on that machine until it is activated again."
          confirmLabel="Deactivate"
          busy={busy}
          onConfirm={confirm}
          onCancel={() => setAsking(null)}
        />
      )}
    </section>
  );
}
