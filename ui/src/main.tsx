import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { ConsoleApp } from "./views/console/ConsoleApp";
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
createRoot(root).render(<StrictMode>{windowLabel() === "console" ? <ConsoleApp /> : <EndUserApp />}</StrictMode>);
