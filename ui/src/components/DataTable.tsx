// The console's table: the server sorts, filters and pages (the table shows what it was
// given and asks for more near the bottom); rows are virtualised, so 100,000 licenses
// scroll like 50; columns can be hidden (remembered per table); rows can be selected for
// bulk actions. Built on TanStack Table (state) and TanStack Virtual (rows on screen).
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type Row,
  type RowSelectionState,
  type VisibilityState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useEffect, useMemo, useRef, useState, type CSSProperties, type ReactNode } from "react";
import type { AppError } from "../api/invoke";

export type Sort = { id: string; desc: boolean };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Column<T> = ColumnDef<T, any> & {
  id: string;
  /** Shown in the column chooser and the header. */
  header: string;
  /** The server's sort field for this column; no sort when absent. */
  sortKey?: string;
  /** Hidden until chosen. */
  hiddenByDefault?: boolean;
  /** CSS width, e.g. "12rem". */
  width?: string;
};

export function DataTable<T>(props: {
  /** Names the table for its saved column choice and its test ids. */
  id: string;
  columns: Column<T>[];
  rows: T[];
  total: number | null;
  loading: boolean;
  error?: AppError | null;
  rowId: (row: T) => string;
  sort?: Sort | null;
  onSort?: (sort: Sort | null) => void;
  hasMore?: boolean;
  onLoadMore?: () => void;
  selected?: Set<string>;
  onSelect?: (selected: Set<string>) => void;
  onOpen?: (row: T) => void;
  /** What an empty result says (and offers). */
  empty: ReactNode;
  /** Buttons above the table, right of the count. */
  toolbar?: ReactNode;
  /** Height of the scrolling area. */
  height?: string;
  /** Every row this many px tall (its cells are cut to fit): scrolling measures nothing.
   * Without it, each row is measured as it appears (rows of varying height). */
  rowHeight?: number;
}) {
  const { id, rows, selected, onSelect } = props;
  const storageKey = `licentric.columns.${id}`;
  const [visibility, setVisibility] = useState<VisibilityState>(() => {
    const saved = readVisibility(storageKey);
    if (saved) return saved;
    return Object.fromEntries(props.columns.filter((c) => c.hiddenByDefault).map((c) => [c.id, false]));
  });
  useEffect(() => {
    try {
      localStorage.setItem(storageKey, JSON.stringify(visibility));
    } catch {
      // Column choice is a convenience: a full or disabled storage only forgets it.
    }
  }, [storageKey, visibility]);

  const rowSelection: RowSelectionState = useMemo(
    () => Object.fromEntries([...(selected ?? [])].map((key) => [key, true])),
    [selected],
  );
  const columns = useMemo(() => {
    if (!onSelect) return props.columns;
    const select: Column<T> = {
      id: "select",
      header: "Select",
      width: "2.5rem",
      cell: ({ row }) => (
        <input
          type="checkbox"
          aria-label="Select row"
          data-testid={`${id}-select-row`}
          checked={row.getIsSelected()}
          onChange={row.getToggleSelectedHandler()}
          onClick={(e) => e.stopPropagation()}
        />
      ),
    };
    return [select, ...props.columns];
  }, [props.columns, onSelect, id]);

  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Table's API is not memoisable; this component re-renders with it.
  const table = useReactTable({
    data: rows,
    columns,
    getRowId: props.rowId,
    getCoreRowModel: getCoreRowModel(),
    manualSorting: true,
    manualPagination: true,
    manualFiltering: true,
    enableRowSelection: !!onSelect,
    state: { columnVisibility: visibility, rowSelection },
    onColumnVisibilityChange: setVisibility,
    onRowSelectionChange: (updater) => {
      const next = typeof updater === "function" ? updater(rowSelection) : updater;
      onSelect?.(new Set(Object.keys(next).filter((key) => next[key])));
    },
  });

  const scroller = useRef<HTMLDivElement>(null);
  const tableRows = table.getRowModel().rows;
  const { rowHeight } = props;
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight ?? 41,
    // A scroll step renders only the rows that enter; a few beyond the edge are enough.
    overscan: rowHeight ? 6 : 12,
  });
  // Opening a row: one function for every render, so rows that did not change are skipped.
  const onOpenRef = useRef(props.onOpen);
  useEffect(() => {
    onOpenRef.current = props.onOpen;
  });
  const open = useCallback((row: T) => onOpenRef.current?.(row), []);
  const clickable = !!props.onOpen;
  const items = virtualizer.getVirtualItems();
  const last = items.at(-1);
  const { hasMore, loading, onLoadMore } = props;
  useEffect(() => {
    if (last && last.index >= tableRows.length - 20 && hasMore && !loading) onLoadMore?.();
  }, [last, tableRows.length, hasMore, loading, onLoadMore]);

  const padTop = items[0]?.start ?? 0;
  const padBottom = items.length ? virtualizer.getTotalSize() - (last?.end ?? 0) : 0;
  const visibleColumns = table.getVisibleLeafColumns();
  const allSelected = !!onSelect && rows.length > 0 && rows.every((row) => selected?.has(props.rowId(row)));

  return (
    <div className="data-table" data-testid={`${id}-table`}>
      <div className="table-toolbar">
        <span className="table-count" data-testid={`${id}-count`} aria-live="polite">
          {countText(rows.length, props.total, props.loading)}
          {selected && selected.size > 0 && <strong> · {selected.size} selected</strong>}
        </span>
        <div className="table-tools">
          {props.toolbar}
          <ColumnChooser columns={props.columns} visibility={visibility} onChange={setVisibility} tableId={id} />
        </div>
      </div>
      {props.error && (
        <div className="alert alert-error" role="alert" data-testid={`${id}-error`}>
          {props.error.message}
        </div>
      )}
      <div
        className={rowHeight ? "table-scroll fixed-rows" : "table-scroll"}
        ref={scroller}
        style={
          {
            height: props.height ?? "calc(100vh - 17rem)",
            ...(rowHeight ? { "--row-height": `${rowHeight}px` } : {}),
          } as CSSProperties
        }
      >
        <table>
          <colgroup>
            {visibleColumns.map((column) => (
              <col key={column.id} style={{ width: (column.columnDef as Column<T>).width }} />
            ))}
          </colgroup>
          <thead>
            <tr>
              {visibleColumns.map((column) => {
                const def = column.columnDef as Column<T>;
                if (column.id === "select") {
                  return (
                    <th key="select" scope="col">
                      <input
                        type="checkbox"
                        aria-label="Select all loaded rows"
                        data-testid={`${id}-select-all`}
                        checked={allSelected}
                        onChange={() => onSelect?.(allSelected ? new Set() : new Set(rows.map(props.rowId)))}
                      />
                    </th>
                  );
                }
                const sorted = props.sort?.id === def.sortKey ? props.sort : null;
                return (
                  <th
                    key={column.id}
                    scope="col"
                    aria-sort={sorted ? (sorted.desc ? "descending" : "ascending") : undefined}
                  >
                    {def.sortKey && props.onSort ? (
                      <button
                        type="button"
                        className="sort-button"
                        data-testid={`${id}-sort-${column.id}`}
                        onClick={() => def.sortKey && props.onSort?.(nextSort(def.sortKey, props.sort ?? null))}
                      >
                        {def.header}
                        <span aria-hidden="true" className="sort-mark">
                          {sorted ? (sorted.desc ? "▼" : "▲") : "↕"}
                        </span>
                      </button>
                    ) : (
                      def.header
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {padTop > 0 && (
              <tr aria-hidden="true">
                <td colSpan={visibleColumns.length} style={{ height: padTop, padding: 0, border: 0 }} />
              </tr>
            )}
            {items.map((item) => {
              const row = tableRows[item.index];
              if (!row) return null;
              return (
                <DataRow
                  key={row.id}
                  tableId={id}
                  row={row}
                  index={item.index}
                  selected={row.getIsSelected()}
                  columns={visibleColumns.length}
                  cells={columns}
                  visibility={visibility}
                  measure={rowHeight ? undefined : virtualizer.measureElement}
                  onOpen={clickable ? open : undefined}
                />
              );
            })}
            {padBottom > 0 && (
              <tr aria-hidden="true">
                <td colSpan={visibleColumns.length} style={{ height: padBottom, padding: 0, border: 0 }} />
              </tr>
            )}
          </tbody>
        </table>
        {!props.loading && rows.length === 0 && !props.error && (
          <div className="empty-state" data-testid={`${id}-empty`}>
            {props.empty}
          </div>
        )}
        {props.loading && (
          <div className="table-loading" data-testid={`${id}-loading`} role="status">
            Loading…
          </div>
        )}
      </div>
    </div>
  );
}

type RowProps<T> = {
  tableId: string;
  row: Row<T>;
  index: number;
  selected: boolean;
  /** How many cells; with `cells` and `visibility`, what changes a row's look. */
  columns: number;
  cells: unknown;
  visibility: VisibilityState;
  measure?: (element: HTMLTableRowElement | null) => void;
  onOpen?: (row: T) => void;
};

/** One row. Re-rendered only when its data, its selection or the columns change, not on
 * every scroll step: a step renders just the rows that come into view. */
function DataRowOf<T>(props: RowProps<T>) {
  const { row, onOpen, index, measure, tableId, selected } = props;
  return (
    <tr
      data-index={index}
      ref={measure}
      className={onOpen ? "clickable" : undefined}
      data-testid={`${tableId}-row`}
      data-row-id={row.id}
      aria-selected={selected || undefined}
      tabIndex={onOpen ? 0 : undefined}
      onClick={() => onOpen?.(row.original)}
      onKeyDown={(e) => {
        if (e.target !== e.currentTarget) return;
        if (e.key === "Enter") onOpen?.(row.original);
        // Up and down go from row to row, as in a list.
        const next =
          e.key === "ArrowDown"
            ? e.currentTarget.nextElementSibling
            : e.key === "ArrowUp"
              ? e.currentTarget.previousElementSibling
              : null;
        if (next instanceof HTMLElement && next.tabIndex >= 0) {
          e.preventDefault();
          next.focus();
        }
      }}
    >
      {row.getVisibleCells().map((cell) => (
        <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
      ))}
    </tr>
  );
}

// A page loaded further down makes new row objects for the same data: compare the data.
const DataRow = memo(
  DataRowOf,
  (a, b) =>
    a.row.original === b.row.original &&
    a.row.id === b.row.id &&
    a.index === b.index &&
    a.selected === b.selected &&
    a.columns === b.columns &&
    a.cells === b.cells &&
    a.visibility === b.visibility &&
    a.measure === b.measure &&
    a.onOpen === b.onOpen &&
    a.tableId === b.tableId,
) as <T>(props: RowProps<T>) => ReactNode;

function countText(loaded: number, total: number | null, loading: boolean): string {
  if (total === null) return loading ? "Loading…" : "";
  if (total === 0) return "No results";
  const all = total.toLocaleString("en-US");
  return loaded >= total ? `${all} ${total === 1 ? "result" : "results"}` : `${loaded.toLocaleString("en-US")} of ${all} shown`;
}

function nextSort(key: string, sort: Sort | null): Sort | null {
  if (sort?.id !== key) return { id: key, desc: false };
  if (!sort.desc) return { id: key, desc: true };
  return null;
}

/** The server's `sort` parameter for a table sort. */
export function sortParam(sort: Sort | null | undefined): string | undefined {
  return sort ? `${sort.desc ? "-" : ""}${sort.id}` : undefined;
}

function readVisibility(key: string): VisibilityState | null {
  try {
    const saved = localStorage.getItem(key);
    return saved ? (JSON.parse(saved) as VisibilityState) : null;
  } catch {
    return null;
  }
}

function ColumnChooser<T>(props: {
  tableId: string;
  columns: Column<T>[];
  visibility: VisibilityState;
  onChange: (visibility: VisibilityState) => void;
}) {
  const [open, setOpen] = useState(false);
  return (
    <div className="column-chooser">
      <button
        type="button"
        className="button small"
        aria-expanded={open}
        data-testid={`${props.tableId}-columns`}
        onClick={() => setOpen(!open)}
      >
        Columns
      </button>
      {open && (
        <div className="menu" role="group" aria-label="Columns shown" onKeyDown={(e) => e.key === "Escape" && setOpen(false)}>
          {props.columns.map((column) => (
            <label key={column.id} className="menu-item">
              <input
                type="checkbox"
                checked={props.visibility[column.id] !== false}
                onChange={(e) => props.onChange({ ...props.visibility, [column.id]: e.target.checked })}
              />
              {column.header}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}
