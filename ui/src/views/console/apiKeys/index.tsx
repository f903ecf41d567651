import { Placeholder } from "../Placeholder";
export function ApiKeysRoutes() {
  return <Placeholder title="ApiKeys" />;
}
