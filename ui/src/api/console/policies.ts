// Mirrors src-tauri/commands/console/policies.rs.
import type { ListQuery } from "../../bindings/ListQuery";
import type { NewPolicy } from "../../bindings/NewPolicy";
import type { Page } from "../../bindings/Page";
import type { Policy } from "../../bindings/Policy";
import type { PolicyUpdate } from "../../bindings/PolicyUpdate";
import { call } from "../invoke";

export const listPolicies = (query: ListQuery) => call<Page<Policy>>("list_policies", { query });
export const getPolicy = (id: string) => call<Policy>("get_policy", { id });
export const createPolicy = (policy: NewPolicy) => call<Policy>("create_policy", { policy });
export const updatePolicy = (id: string, update: PolicyUpdate) => call<Policy>("update_policy", { id, update });
export const deletePolicy = (id: string) => call<null>("delete_policy", { id });
