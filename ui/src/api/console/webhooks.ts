// Mirrors src-tauri/commands/console/webhooks.rs.
import type { ListQuery } from "../../bindings/ListQuery";
import type { NewWebhook } from "../../bindings/NewWebhook";
import type { Page } from "../../bindings/Page";
import type { Webhook } from "../../bindings/Webhook";
import type { WebhookDelivery } from "../../bindings/WebhookDelivery";
import type { WebhookTestResult } from "../../bindings/WebhookTestResult";
import type { WebhookUpdate } from "../../bindings/WebhookUpdate";
import { call } from "../invoke";

export const listWebhooks = (query: ListQuery) => call<Page<Webhook>>("list_webhooks", { query });
export const getWebhook = (id: string) => call<Webhook>("get_webhook", { id });
export const createWebhook = (webhook: NewWebhook) => call<Webhook>("create_webhook", { webhook });
export const updateWebhook = (id: string, update: WebhookUpdate) => call<Webhook>("update_webhook", { id, update });
export const deleteWebhook = (id: string) => call<null>("delete_webhook", { id });
export const rotateWebhookSecret = (id: string) => call<Webhook>("rotate_webhook_secret", { id });
export const testWebhook = (id: string) => call<WebhookTestResult>("test_webhook", { id });
export const webhookDeliveries = (id: string, query: ListQuery) =>
  call<Page<WebhookDelivery>>("webhook_deliveries", { id, query });
export const redeliverWebhookDelivery = (id: string, deliveryId: string) =>
  call<WebhookDelivery>("redeliver_webhook_delivery", { id, deliveryId });
