import { Placeholder } from "../Placeholder";
export function SupportRoutes() {
  return <Placeholder title="Support" />;
}
