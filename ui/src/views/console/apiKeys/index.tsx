// API keys: create with some of this key's scopes (shown once), rotate (shown once), revoke.
import "../catalog.css";
import { ApiKeyList } from "./List";

export function ApiKeysRoutes() {
  return <ApiKeyList />;
}
