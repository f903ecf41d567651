import { Placeholder } from "../Placeholder";
export function LicensesRoutes() {
  return <Placeholder title="Licenses" />;
}
