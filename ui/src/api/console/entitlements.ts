// Mirrors src-tauri/commands/console/entitlements.rs.
import type { Entitlement } from "../../bindings/Entitlement";
import type { EntitlementUpdate } from "../../bindings/EntitlementUpdate";
import type { ListQuery } from "../../bindings/ListQuery";
import type { NewEntitlement } from "../../bindings/NewEntitlement";
import type { Page } from "../../bindings/Page";
import { call } from "../invoke";

export const listEntitlements = (query: ListQuery) => call<Page<Entitlement>>("list_entitlements", { query });
export const createEntitlement = (entitlement: NewEntitlement) =>
  call<Entitlement>("create_entitlement", { entitlement });
export const updateEntitlement = (id: string, update: EntitlementUpdate) =>
  call<Entitlement>("update_entitlement", { id, update });
export const deleteEntitlement = (id: string) => call<null>("delete_entitlement", { id });
