// Mirrors src-tauri/commands/console/analytics.rs.
import type { AnalyticsQuery } from "../../bindings/AnalyticsQuery";
import type { AnalyticsSeries } from "../../bindings/AnalyticsSeries";
import type { ExpiringLicenses } from "../../bindings/ExpiringLicenses";
import type { SeatsReport } from "../../bindings/SeatsReport";
import { call } from "../invoke";

export const analyticsSeries = (query: AnalyticsQuery) => call<AnalyticsSeries>("analytics_series", { query });
export const analyticsSeats = (productId: string | null) => call<SeatsReport>("analytics_seats", { productId });
export const analyticsExpiring = (productId: string | null) =>
  call<ExpiringLicenses>("analytics_expiring", { productId });
