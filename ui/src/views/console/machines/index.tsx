import { Placeholder } from "../Placeholder";
export function MachinesRoutes() {
  return <Placeholder title="Machines" />;
}
