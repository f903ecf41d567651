// A server-paged list for the DataTable: the first page when `key` (search, filters,
// sort) changes, the next by cursor near the bottom; answers to an older key are dropped,
// so a slow first keystroke never overwrites the last one's rows.
import { useCallback, useEffect, useRef, useState } from "react";
import { toAppError, type AppError } from "../../../api/invoke";
import type { Page } from "../../../bindings/Page";
import { ready, startTiming } from "./perf";

export function usePagedList<T>(
  fetchPage: (after?: string) => Promise<Page<T>>,
  key: string,
  timing: string,
) {
  const [version, setVersion] = useState(0);
  const current = `${version}:${key}`;
  // Everything shown belongs to one request's key; until its answer arrives, it is loading.
  const [shown, setShown] = useState<Shown<T>>(EMPTY);
  const [loadingMore, setLoadingMore] = useState(false);
  const latest = useRef(current);
  const fetchRef = useRef(fetchPage);
  useEffect(() => {
    fetchRef.current = fetchPage;
    latest.current = current;
  });

  useEffect(() => {
    const start = startTiming(timing);
    fetchRef.current().then(
      (page) => {
        if (latest.current !== current) return;
        setShown({ for: current, rows: page.data, total: page.total, cursor: page.nextCursor, hasMore: page.hasMore, error: null });
        ready(timing, start, { key });
      },
      (failure) => {
        if (latest.current !== current) return;
        setShown({ ...EMPTY, for: current, error: toAppError(failure) } as Shown<T>);
      },
    );
  }, [current, key, timing]);

  const loading = shown.for !== current || loadingMore;
  const { hasMore, cursor } = shown;
  const loadMore = useCallback(() => {
    if (!hasMore || loading || !cursor) return;
    const mine = latest.current;
    setLoadingMore(true);
    fetchRef.current(cursor).then(
      (page) => {
        setLoadingMore(false);
        if (mine !== latest.current) return;
        setShown((before) => ({
          ...before,
          rows: [...before.rows, ...page.data],
          total: page.total,
          cursor: page.nextCursor,
          hasMore: page.hasMore,
        }));
      },
      (failure) => {
        setLoadingMore(false);
        if (mine !== latest.current) return;
        setShown((before) => ({ ...before, hasMore: false, error: toAppError(failure) }));
      },
    );
  }, [hasMore, loading, cursor]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const stale = shown.for !== current;
  return {
    // While a new search loads, the old rows stay (dimmed by the loading note) rather than flashing empty.
    rows: shown.rows,
    total: stale && shown.error ? null : shown.total,
    hasMore: shown.hasMore,
    loading,
    error: stale ? null : shown.error,
    loadMore,
    reload,
  };
}

type Shown<T> = {
  for: string;
  rows: T[];
  total: number | null;
  cursor: string | undefined;
  hasMore: boolean;
  error: AppError | null;
};

const EMPTY: Shown<never> = { for: "", rows: [], total: null, cursor: undefined, hasMore: false, error: null };

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
