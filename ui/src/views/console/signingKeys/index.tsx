import { Placeholder } from "../Placeholder";
export function SigningKeysRoutes() {
  return <Placeholder title="SigningKeys" />;
}
