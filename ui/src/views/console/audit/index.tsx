import { Placeholder } from "../Placeholder";
export function AuditRoutes() {
  return <Placeholder title="Audit" />;
}
