import { StrictMode, type ComponentType } from "react";
import { createRoot } from "react-dom/client";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { EndUserApp } from "./views/license/EndUserApp";
import "./styles.css";
import "./console.css";

// One web UI, two windows: `console` (the vendor console, granted only management
// commands) and `main` (the end user's License view, granted none of them).
function windowLabel(): string {
  try {
    return getCurrentWindow().label;
  } catch {
    return "main";
  }
}

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
const container = root;

function render(App: ComponentType) {
  createRoot(container).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

// The console's code (its tables, router and charts: most of the bundle) is its own
// chunk, loaded only in the console's window, so the License view starts with less to
// parse (issue 16: launch to the License view painted).
if (windowLabel() === "console") {
  void import("./views/console/ConsoleApp").then(({ ConsoleApp }) => render(ConsoleApp));
} else {
  render(EndUserApp);
}
