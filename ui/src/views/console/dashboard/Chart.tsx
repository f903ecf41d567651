// One uPlot chart that fits its card's width and follows the theme: its colours are read
// from the stylesheet's variables, and it is drawn again when <html data-theme> changes.
import "./intlLocale";
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** The theme's colours, read from the CSS variables of `styles.css`. */
export type Palette = {
  text: string;
  muted: string;
  border: string;
  surface: string;
  accent: string;
  ok: string;
  bad: string;
  warn: string;
  /** Further distinct hues for series beyond the named ones. */
  extra: string[];
};

function readPalette(): Palette {
  const style = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const dark = document.documentElement.dataset.theme === "dark";
  return {
    text: v("--text", "#1c1e26"),
    muted: v("--muted", "#5b6070"),
    border: v("--border", "#d9dce5"),
    surface: v("--surface", "#ffffff"),
    accent: v("--accent", "#4338ca"),
    ok: v("--ok", "#137a3f"),
    bad: v("--bad", "#b42318"),
    warn: v("--warn", "#9a5b00"),
    extra: dark
      ? ["#38bdf8", "#c084fc", "#2dd4bf", "#fb923c", "#94a3b8", "#f472b6", "#a3e635", "#facc15"]
      : ["#0369a1", "#7e22ce", "#0f766e", "#c2410c", "#475569", "#be185d", "#4d7c0f", "#a16207"],
  };
}

/** The palette, updated when the theme changes. */
export function usePalette(): Palette {
  const [palette, setPalette] = useState(readPalette);
  useEffect(() => {
    const observer = new MutationObserver(() => setPalette(readPalette()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  return palette;
}

/** Axes in the theme's colours, days on x (UTC), whole numbers on y. */
export function axes(palette: Palette, yLabel: string): uPlot.Axis[] {
  const font = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
  const common = {
    stroke: palette.muted,
    font,
    labelFont: font,
    grid: { stroke: palette.border, width: 1 },
    ticks: { stroke: palette.border, width: 1, size: 4 },
  };
  return [
    { ...common, space: 60 },
    {
      ...common,
      label: yLabel,
      labelSize: 18,
      size: 44,
      // Counts are whole: no 0.5 machines.
      incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
      values: (_u, splits) => splits.map((s) => (s >= 10000 ? `${Math.round(s / 1000)}k` : String(s))),
    },
  ];
}

export function Chart(props: {
  testId: string;
  /** Describes the chart for screen readers. */
  label: string;
  options: Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const { options, data } = props;
  const height = props.height ?? 220;
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = () => Math.max(280, Math.floor(element.clientWidth));
    const chart = new uPlot(
      {
        ...options,
        width: width(),
        height,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() => {
      if (width() !== chart.width) chart.setSize({ width: width(), height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [options, data, height]);
  return <div className="chart" ref={box} role="img" aria-label={props.label} data-testid={props.testId} />;
}
