// What a screen says when there is nothing to show yet, and what to do about it.
import type { ReactNode } from "react";

export function EmptyState(props: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{props.title}</p>
      {props.children && <p className="muted">{props.children}</p>}
      {props.action}
    </div>
  );
}

export function Loading(props: { what?: string }) {
  return (
    <p className="muted" role="status" data-testid="loading">
      Loading{props.what ? ` ${props.what}` : ""}…
    </p>
  );
}
