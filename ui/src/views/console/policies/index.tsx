import { Placeholder } from "../Placeholder";
export function PoliciesRoutes() {
  return <Placeholder title="Policies" />;
}
