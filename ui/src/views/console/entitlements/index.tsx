import { Placeholder } from "../Placeholder";
export function EntitlementsRoutes() {
  return <Placeholder title="Entitlements" />;
}
