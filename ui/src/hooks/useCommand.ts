// The one hook that owns a command's busy and error state: a view calls `run(...)` and
// shows `busy` and `error`; what the user typed stays where it is when a call fails.
import { useCallback, useEffect, useRef, useState } from "react";
import { AppError, toAppError } from "../api/invoke";

export type Command<A extends unknown[], T> = {
  /** Runs the command; resolves to its answer, or `undefined` when it failed (see `error`)
   * or, with `latestOnly`, when a later call (or `forget`) has superseded it. */
  run: (...args: A) => Promise<T | undefined>;
  busy: boolean;
  error: AppError | null;
  clearError: () => void;
  /** Forgets the error and, with `latestOnly`, the answers of calls still in flight. */
  forget: () => void;
};

export type CommandOptions = {
  /** Calls can overlap and each supersedes the ones before: only the latest call's answer
   * or error counts (a check re-run as its inputs change). Without it every call counts
   * (deleting several rows at once). */
  latestOnly?: boolean;
};

export function useCommand<A extends unknown[], T>(
  command: (...args: A) => Promise<T>,
  options: CommandOptions = {},
): Command<A, T> {
  const { latestOnly = false } = options;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const latest = useRef(command);
  useEffect(() => {
    latest.current = command;
  });
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  // Busy while any call is in flight: calls can overlap (a select that re-runs a check
  // while a button's check is out), and the first to finish must not clear it.
  const inFlight = useRef(0);
  const calls = useRef(0);
  const run = useCallback(
    async (...args: A) => {
      const call = ++calls.current;
      const superseded = () => latestOnly && call !== calls.current;
      inFlight.current += 1;
      setBusy(true);
      setError(null);
      try {
        const answer = await latest.current(...args);
        return superseded() ? undefined : answer;
      } catch (failure) {
        if (mounted.current && !superseded()) setError(toAppError(failure));
        return undefined;
      } finally {
        inFlight.current -= 1;
        if (mounted.current) setBusy(inFlight.current > 0);
      }
    },
    [latestOnly],
  );
  const clearError = useCallback(() => setError(null), []);
  const forget = useCallback(() => {
    calls.current += 1;
    setError(null);
  }, []);
  return { run, busy, error, clearError, forget };
}

/** Loads `load()` when `key` changes (and on `reload()`); the answer, busy and error. */
export function useLoad<T>(load: () => Promise<T>, key: string) {
  const [data, setData] = useState<T | null>(null);
  const [version, setVersion] = useState(0);
  const command = useCommand(load);
  const { run } = command;
  useEffect(() => {
    let current = true;
    void run().then((answer) => {
      if (current && answer !== undefined) setData(answer);
    });
    return () => {
      current = false;
    };
  }, [run, key, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, setData, loading: command.busy, error: command.error, reload };
}
