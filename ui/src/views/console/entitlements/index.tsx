// Entitlements: the features a license can carry, which the vendor's app asks for by code.
import "../catalog.css";
import { EntitlementList } from "./List";

export function EntitlementsRoutes() {
  return <EntitlementList />;
}
