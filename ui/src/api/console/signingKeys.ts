// Mirrors src-tauri/commands/console/signing_keys.rs.
import type { SigningKey } from "../../bindings/SigningKey";
import { call } from "../invoke";

export const listSigningKeys = () => call<SigningKey[]>("list_signing_keys");
export const rotateSigningKey = () => call<SigningKey>("rotate_signing_key");
