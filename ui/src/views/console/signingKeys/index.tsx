// Signing keys: the account's Ed25519 keys, and their rotation with what it means for apps
// in the field.
import "../catalog.css";
import { SigningKeyList } from "./List";

export function SigningKeysRoutes() {
  return <SigningKeyList />;
}
