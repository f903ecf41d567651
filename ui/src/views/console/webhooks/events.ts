// The event types an endpoint can subscribe to: the server's `events::EVENT_TYPES`
// (it refuses any other, naming the valid ones).
export const EVENT_TYPES: Array<{ type: string; what: string }> = [
  { type: "license.created", what: "a license is issued" },
  { type: "license.updated", what: "a license is changed" },
  { type: "license.deleted", what: "a license is deleted" },
  { type: "license.suspended", what: "a license is suspended" },
  { type: "license.reinstated", what: "a suspended license is reinstated" },
  { type: "license.revoked", what: "a license is revoked" },
  { type: "license.banned", what: "a license is banned" },
  { type: "license.renewed", what: "a license is renewed" },
  { type: "license.validated", what: "an app validates a license (frequent)" },
  { type: "machine.activated", what: "a machine is activated" },
  { type: "machine.deactivated", what: "a machine is deactivated" },
  { type: "machine.culled", what: "a dead machine is removed" },
  { type: "machine.heartbeat", what: "a machine sends a heartbeat (very frequent)" },
];

export function eventsText(events: string[]): string {
  if (events.includes("*")) return "All events";
  return events.join(", ");
}
