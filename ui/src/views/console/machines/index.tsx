// Machines (route /machines/*): every activated machine across licenses.
import "../licenses/licenses.css";
import { MachineList } from "./List";

export function MachinesRoutes() {
  return <MachineList />;
}
