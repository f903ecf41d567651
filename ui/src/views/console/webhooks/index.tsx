import { Placeholder } from "../Placeholder";
export function WebhooksRoutes() {
  return <Placeholder title="Webhooks" />;
}
