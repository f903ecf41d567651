// The audit log: who did what to which record, and when.
import "../catalog.css";
import { AuditList } from "./List";

export function AuditRoutes() {
  return <AuditList />;
}
