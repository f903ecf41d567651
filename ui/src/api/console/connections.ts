// Mirrors src-tauri/commands/console/connections.rs.
import type { ConsoleConnection } from "../../bindings/ConsoleConnection";
import type { ConsoleSession } from "../../bindings/ConsoleSession";
import type { NewConnection } from "../../bindings/NewConnection";
import { call } from "../invoke";

export const consoleConnections = () => call<ConsoleConnection[]>("console_connections");
export const consoleSession = () => call<ConsoleSession>("console_session");
export const addConsoleConnection = (connection: NewConnection) =>
  call<ConsoleSession>("add_console_connection", { connection });
export const switchConsoleConnection = (id: string) => call<ConsoleSession>("use_console_connection", { id });
export const removeConsoleConnection = (id: string) =>
  call<ConsoleConnection[]>("remove_console_connection", { id });
