// Mirrors src-tauri/commands/console/events.rs.
import type { AuditEvent } from "../../bindings/AuditEvent";
import type { ListQuery } from "../../bindings/ListQuery";
import type { Page } from "../../bindings/Page";
import type { SavedExport } from "../../bindings/SavedExport";
import { call } from "../invoke";

export const listEvents = (query: ListQuery) => call<Page<AuditEvent>>("list_events", { query });
export const exportEventsCsv = (query: ListQuery) => call<SavedExport>("export_events_csv", { query });
