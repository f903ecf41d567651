import { Placeholder } from "../Placeholder";
export function DashboardRoutes() {
  return <Placeholder title="Dashboard" />;
}
