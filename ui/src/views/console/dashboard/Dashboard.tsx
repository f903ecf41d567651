// The dashboard: what a vendor would rather look at than read — validations per day by
// outcome, activations and deactivations, machines in use, seats per product, and the
// licenses about to expire (each window a link to the filtered licenses list). Charts
// are uPlot, in the theme's colours; the time they take to draw is recorded as the
// `dashboard-charts` performance measure for the benchmarks.
import "./intlLocale";
import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import { Link } from "wouter";
import { analyticsExpiring, analyticsSeats, analyticsSeries } from "../../../api/console/analytics";
import { listProducts } from "../../../api/console/products";
import type { AnalyticsSeries } from "../../../bindings/AnalyticsSeries";
import type { ExpiringLicenses } from "../../../bindings/ExpiringLicenses";
import type { SeatsReport } from "../../../bindings/SeatsReport";
import { EmptyState } from "../../../components/EmptyState";
import { useLoad } from "../../../hooks/useCommand";
import { formatDateTime } from "../../../lib/time";
import { useScope } from "../session";
import { axes, Chart, usePalette, type Palette } from "./Chart";
import "./dashboard.css";
import {
  CODE_LABELS,
  daySeconds,
  expiringHref,
  hasActivity,
  RANGES,
  rangeOf,
  seatShare,
  stackValidations,
  totals,
  type Range,
} from "./series";

type Figures = { series: AnalyticsSeries; seats: SeatsReport; expiring: ExpiringLicenses };

/** Marks the start of a load (the route entered, see index.tsx, or a new range or
 * product): the `dashboard-charts` measure runs from here to the charts on screen. */
export function markStart() {
  performance.mark("dashboard-navigation");
}

export default function Dashboard() {
  const [range, setRange] = useState<Range>(30);
  const [productId, setProductId] = useState("");
  const figures = useLoad<Figures>(async () => {
    const product = productId || null;
    const [series, seats, expiring] = await Promise.all([
      analyticsSeries({ ...rangeOf(range, new Date()), productId: product ?? undefined }),
      analyticsSeats(product),
      analyticsExpiring(product),
    ]);
    return { series, seats, expiring };
  }, `${range}|${productId}`);
  const data = figures.data;
  const palette = usePalette();
  const page = useRef<HTMLElement>(null);

  // Once a load's charts are in the DOM, uPlot has drawn them by the next frame. Only a
  // load is measured; a theme change redraws (and counts as a draw) without a measure.
  // Once a load's charts are in the DOM, uPlot has drawn them by the next frame. Each load
  // is measured once, on its own effect, so a theme change (a redraw, counted below) can
  // neither add a measure nor cancel a load's.
  const measured = useRef<Figures | null>(null);
  useEffect(() => {
    if (!data || measured.current === data) return;
    const frame = requestAnimationFrame(() => {
      measured.current = data;
      performance.mark("dashboard-charts-drawn");
      performance.measure("dashboard-charts", "dashboard-navigation", "dashboard-charts-drawn");
    });
    return () => cancelAnimationFrame(frame);
  }, [data]);
  useEffect(() => {
    if (!data) return;
    const frame = requestAnimationFrame(() => {
      const element = page.current;
      if (element) element.dataset.chartsDrawn = String(Number(element.dataset.chartsDrawn ?? 0) + 1);
    });
    return () => cancelAnimationFrame(frame);
  }, [data, palette]);

  function choose(next: () => void) {
    markStart();
    next();
  }

  return (
    <section className="console-page dashboard" data-testid="dashboard" ref={page}>
      <header className="page-header">
        <div>
          <h1>Dashboard</h1>
          <p className="muted">
            {data
              ? `The last ${range} days, UTC · counted ${formatDateTime(data.seats.asOf)}`
              : "How your licenses are used."}
          </p>
        </div>
        <div className="page-actions dash-controls">
          <ProductPicker value={productId} onChange={(next) => choose(() => setProductId(next))} />
          <div className="segmented" role="group" aria-label="Range">
            {RANGES.map((days) => (
              <button
                key={days}
                type="button"
                className={days === range ? "active" : ""}
                aria-pressed={days === range}
                data-testid={`range-${days}`}
                onClick={() => choose(() => setRange(days))}
              >
                {days} days
              </button>
            ))}
          </div>
        </div>
      </header>
      {figures.error && (
        <div className="alert alert-error" role="alert" data-testid="dashboard-error">
          {figures.error.message}{" "}
          <button type="button" className="button link" onClick={figures.reload}>
            Try again
          </button>
        </div>
      )}
      {!data && figures.loading && (
        <p className="muted" role="status" data-testid="loading">
          Loading the figures…
        </p>
      )}
      {data && <Figures figures={data} palette={palette} productId={productId || null} loading={figures.loading} />}
    </section>
  );
}

function ProductPicker(props: { value: string; onChange: (id: string) => void }) {
  const allowed = useScope("products:read");
  const products = useLoad(() => (allowed ? listProducts({ limit: 100 }) : Promise.resolve(null)), String(allowed));
  if (!allowed) return null;
  return (
    <select
      className="dash-select"
      aria-label="Product"
      data-testid="dashboard-product"
      value={props.value}
      onChange={(e) => props.onChange(e.target.value)}
    >
      <option value="">All products</option>
      {(products.data?.data ?? []).map((product) => (
        <option key={product.id} value={product.id}>
          {product.name}
        </option>
      ))}
    </select>
  );
}

function Figures(props: { figures: Figures; palette: Palette; productId: string | null; loading: boolean }) {
  const { series, seats, expiring } = props.figures;
  const sum = totals(series.days);
  const active = hasActivity(series.days);
  const validRate = sum.validations ? Math.round((sum.valid / sum.validations) * 1000) / 10 : null;
  return (
    <div className={props.loading ? "dash-body refreshing" : "dash-body"}>
      <div className="dash-tiles">
        <Tile label="Validations" value={sum.validations} note={validRate === null ? "none yet" : `${validRate}% valid`} testId="tile-validations" />
        <Tile label="Activations" value={sum.activations} note={`${sum.deactivations} deactivated`} testId="tile-activations" />
        <Tile label="Machines active now" value={sum.activeNow ?? 0} note={props.productId ? "on this product's licenses" : "across all products"} testId="tile-active" />
        <ExpiringTiles expiring={expiring} productId={props.productId} />
      </div>

      {active ? (
        <div className="dash-charts">
          <div className="card chart-card wide">
            <h2>Validations per day, by outcome</h2>
            <ValidationsChart figures={props.figures} palette={props.palette} />
          </div>
          <div className="card chart-card">
            <h2>Activations and deactivations</h2>
            <ActivationsChart figures={props.figures} palette={props.palette} />
          </div>
          <div className="card chart-card">
            <h2>Active machines</h2>
            <ActiveMachinesChart figures={props.figures} palette={props.palette} />
          </div>
        </div>
      ) : (
        <div className="card" data-testid="dashboard-empty">
          <EmptyState title="No activity in this range yet">
            The charts fill in as your applications validate license keys and activate machines. Issue a license and
            activate it from your app (or the SDK) to see the first day here.
          </EmptyState>
        </div>
      )}

      <div className="card seats-card" data-testid="seats">
        <h2>Seats in use, per product</h2>
        <SeatBars seats={seats} />
      </div>
    </div>
  );
}

function Tile(props: { label: string; value: number; note: string; testId: string }) {
  return (
    <div className="card dash-tile" data-testid={props.testId}>
      <p className="tile-label">{props.label}</p>
      <p className="tile-value">{props.value.toLocaleString("en-US")}</p>
      <p className="tile-note muted small">{props.note}</p>
    </div>
  );
}

function ExpiringTiles(props: { expiring: ExpiringLicenses; productId: string | null }) {
  const { expiring } = props;
  return (
    <div className="card dash-tile expiring" data-testid="expiring">
      <p className="tile-label">Active licenses expiring within</p>
      <ul className="expiring-list">
        {expiring.windows.map((window) => (
          <li key={window.days}>
            <Link
              href={expiringHref(window, expiring.asOf, props.productId)}
              data-testid={`expiring-${window.days}`}
              className={window.count > 0 ? "expiring-link due" : "expiring-link"}
              title={`Active licenses that expire within ${window.days} days: open the list`}
            >
              <strong>{window.count.toLocaleString("en-US")}</strong>
              <span>{window.days} days</span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Days on x, with half a day either side so the first and last bars show whole. */
const X_SCALE: uPlot.Scale = { time: true, range: (_u, min, max) => [min - 43200, max + 43200] };

/** The legend's first entry: the day under the cursor, or the whole range. */
const DAY_SERIES: uPlot.Series = {
  label: "Day",
  value: (_u, v) => (v == null ? "whole range" : new Date(v * 1000).toISOString().slice(0, 10)),
};

function sumOf(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** A legend value: the day's count under the cursor, the range's total otherwise. */
function total(values: number[]) {
  return (_u: uPlot, v: number | null, _s: number, idx: number | null) => String(idx == null ? sumOf(values) : (v ?? 0));
}

function ValidationsChart(props: { figures: Figures; palette: Palette }) {
  const { palette } = props;
  const days = props.figures.series.days;
  const { options, data } = useMemo(() => {
    const stack = stackValidations(days);
    const colour = (i: number) => {
      const code = stack.codes[i];
      if (code === "VALID") return palette.ok;
      const named = [palette.bad, palette.warn, palette.accent];
      return named[i - 1] ?? palette.extra[(i - 4) % palette.extra.length] ?? palette.muted;
    };
    const bars = uPlot.paths.bars?.({ size: [0.72, 28], gap: 1 });
    // Tallest running sum first, so each smaller one is drawn over it.
    const order = stack.codes.map((_, i) => i).reverse();
    const options: Omit<uPlot.Options, "width" | "height"> = {
      scales: { x: X_SCALE, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
      axes: axes(palette, "validations"),
      legend: { live: true },
      cursor: { points: { show: false } },
      series: [
        DAY_SERIES,
        ...order.map((i) => ({
          label: CODE_LABELS[stack.codes[i] ?? "VALID"],
          stroke: colour(i),
          fill: colour(i),
          width: 0,
          paths: bars,
          points: { show: false },
          value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) =>
            String(idx == null ? sumOf(stack.raw[i] ?? []) : (stack.raw[i]?.[idx] ?? 0)),
        })),
      ],
    };
    const data: uPlot.AlignedData = [stack.x, ...order.map((i) => stack.stacked[i] ?? [])];
    return { options, data };
  }, [days, palette]);
  return <Chart testId="chart-validations" label="Validations per day, stacked by outcome" options={options} data={data} height={240} />;
}

function ActivationsChart(props: { figures: Figures; palette: Palette }) {
  const { palette } = props;
  const days = props.figures.series.days;
  const { options, data } = useMemo(() => {
    // Side by side: activations left of the day's tick, deactivations right of it.
    const left = uPlot.paths.bars?.({ size: [0.36, 12], align: -1 });
    const right = uPlot.paths.bars?.({ size: [0.36, 12], align: 1 });
    const options: Omit<uPlot.Options, "width" | "height"> = {
      scales: { x: X_SCALE, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
      axes: axes(palette, "machines"),
      cursor: { points: { show: false } },
      series: [
        DAY_SERIES,
        { label: "Activated", stroke: palette.accent, fill: palette.accent, width: 0, paths: left, points: { show: false }, value: total(days.map((d) => d.activations)) },
        { label: "Deactivated", stroke: palette.bad, fill: palette.bad, width: 0, paths: right, points: { show: false }, value: total(days.map((d) => d.deactivations)) },
      ],
    };
    const data: uPlot.AlignedData = [
      days.map((d) => daySeconds(d.date)),
      days.map((d) => d.activations),
      days.map((d) => d.deactivations),
    ];
    return { options, data };
  }, [days, palette]);
  return <Chart testId="chart-activations" label="Machines activated and deactivated per day" options={options} data={data} />;
}

function ActiveMachinesChart(props: { figures: Figures; palette: Palette }) {
  const { palette } = props;
  const days = props.figures.series.days;
  const { options, data } = useMemo(() => {
    const options: Omit<uPlot.Options, "width" | "height"> = {
      scales: { x: X_SCALE, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
      axes: axes(palette, "machines"),
      series: [
        DAY_SERIES,
        {
          label: "Active machines",
          value: (_u: uPlot, v: number | null, _s: number, idx: number | null) =>
            idx == null ? `${totals(days).activeNow ?? 0} now` : String(v ?? "–"),
          stroke: palette.ok,
          width: 2,
          fill: `${palette.ok}33`,
          points: { show: days.length <= 31, size: 5, fill: palette.ok },
        },
      ],
    };
    const data: uPlot.AlignedData = [
      days.map((d) => daySeconds(d.date)),
      days.map((d) => d.activeMachines),
    ];
    return { options, data };
  }, [days, palette]);
  return <Chart testId="chart-active" label="Machines active at the end of each day" options={options} data={data} />;
}

function SeatBars(props: { seats: SeatsReport }) {
  const { products } = props.seats;
  if (products.length === 0) {
    return (
      <EmptyState title="No products yet">
        Create a product and a policy, then issue licenses: their seats show here.
      </EmptyState>
    );
  }
  return (
    <ul className="seat-bars">
      {products.map(({ productId, productName, seats }) => {
        const share = seatShare(seats);
        const bounded = seats.machinesUsed - seats.machinesOnUnlimited;
        const tone = share === null ? "" : share >= 1 ? "full" : share >= 0.8 ? "high" : "";
        return (
          <li key={productId} className="seat-bar" data-testid="seat-bar">
            <div className="seat-head">
              <strong>{productName}</strong>
              <span className="muted small">
                {seats.activeLicenses.toLocaleString("en-US")} active {seats.activeLicenses === 1 ? "license" : "licenses"}
              </span>
            </div>
            {share === null ? (
              <p className="muted small seat-text">
                {seats.machinesUsed.toLocaleString("en-US")} machines, no seat limit
              </p>
            ) : (
              <>
                <div
                  className="seat-meter"
                  role="meter"
                  aria-valuemin={0}
                  aria-valuemax={seats.seatsAvailable}
                  aria-valuenow={bounded}
                  aria-label={`${productName}: seats in use`}
                >
                  <div className={`seat-fill ${tone}`} style={{ width: `${Math.min(100, share * 100)}%` }} />
                </div>
                <p className="small seat-text">
                  <strong>{bounded.toLocaleString("en-US")}</strong> of {seats.seatsAvailable.toLocaleString("en-US")} seats
                  used ({Math.round(share * 100)}%)
                  {seats.unlimitedLicenses > 0 &&
                    ` · plus ${seats.machinesOnUnlimited.toLocaleString("en-US")} machines on ${seats.unlimitedLicenses} unlimited ${seats.unlimitedLicenses === 1 ? "license" : "licenses"}`}
                </p>
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}
