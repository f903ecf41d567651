// The console's session for unit tests: a live connection to a local server whose key
// holds `scopes` (the key itself never reaches the web view, so there is none here).
import type { ConsoleSession } from "../../bindings/ConsoleSession";

export function sessionWith(scopes: string[]): ConsoleSession {
  return {
    connection: { id: "local", name: "Local server", url: "http://127.0.0.1:1", local: true } as ConsoleSession["connection"],
    key: {
      id: "key-1",
      name: "Console",
      environment: "live",
      scopes,
      displayPrefix: "lk_live_Ab3d",
      accountId: "acct",
    },
  };
}
