// The dashboard route. Its charts (uPlot) load with it, not with the app: the end user's
// window never downloads them, and a chart library that fails to load cannot take the
// rest of the console down with it.
import { lazy, Suspense, useState } from "react";

const Dashboard = lazy(() => import("./Dashboard"));

export function DashboardRoutes() {
  // The route was entered: the benchmark's "from navigation" includes loading the charts.
  useState(() => performance.mark("dashboard-navigation"));
  return (
    <Suspense
      fallback={
        <section className="console-page">
          <h1>Dashboard</h1>
          <p className="muted" role="status">
            Loading the dashboard…
          </p>
        </section>
      }
    >
      <Dashboard />
    </Suspense>
  );
}
