// Mirrors src-tauri/commands/console/api_keys.rs.
import type { ApiKey } from "../../bindings/ApiKey";
import type { ListQuery } from "../../bindings/ListQuery";
import type { NewApiKey } from "../../bindings/NewApiKey";
import type { Page } from "../../bindings/Page";
import { call } from "../invoke";

export const listApiKeys = (query: ListQuery) => call<Page<ApiKey>>("list_api_keys", { query });
/** The answer holds the new key, once: show it with Copy, then drop it. */
export const createApiKey = (key: NewApiKey) => call<ApiKey>("create_api_key", { key });
export const rotateApiKey = (id: string) => call<ApiKey>("rotate_api_key", { id });
export const revokeApiKey = (id: string) => call<null>("revoke_api_key", { id });
