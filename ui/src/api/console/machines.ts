// Mirrors src-tauri/commands/console/machines.rs.
import type { ListQuery } from "../../bindings/ListQuery";
import type { Machine } from "../../bindings/Machine";
import type { Page } from "../../bindings/Page";
import type { SavedExport } from "../../bindings/SavedExport";
import { call } from "../invoke";

export const listMachines = (query: ListQuery) => call<Page<Machine>>("list_machines", { query });
export const deleteMachine = (id: string) => call<null>("delete_machine", { id });
export const exportMachinesCsv = (query: ListQuery) => call<SavedExport>("export_machines_csv", { query });
