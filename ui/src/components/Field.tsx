// A labelled form field that shows its help and the server's (or the form's own) problem
// with it right beside it. The input is the child; its id and aria links are set here.
import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from "react";
import type { AppError } from "../api/invoke";

export function Field(props: {
  label: string;
  /** What the field does, in plain words. */
  help?: ReactNode;
  /** The problem with this field, if any. */
  problem?: string | null;
  children: ReactElement<Record<string, unknown>>;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  const problemId = `${id}-problem`;
  const described = [props.help ? helpId : null, props.problem ? problemId : null].filter(Boolean).join(" ");
  const input = isValidElement(props.children)
    ? cloneElement(props.children, {
        id,
        "aria-invalid": props.problem ? true : undefined,
        "aria-describedby": described || undefined,
      })
    : props.children;
  return (
    <div className={props.problem ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{props.label}</label>
      {input}
      {props.problem && (
        <p className="field-problem" id={problemId} role="alert">
          {props.problem}
        </p>
      )}
      {props.help && (
        <p className="field-help" id={helpId}>
          {props.help}
        </p>
      )}
    </div>
  );
}

/** The server's problem with `field` in a failed call, when it named that field. */
export function fieldProblem(error: AppError | null, ...fields: string[]): string | null {
  if (!error) return null;
  for (const field of fields) {
    const problem = error.details[field];
    if (problem) return problem;
  }
  return null;
}

/** A failed form's message, unless every problem is already shown at its field. */
export function FormError(props: { error: AppError | null; shownFields?: string[] }) {
  if (!props.error) return null;
  return (
    <div className="alert alert-error" role="alert" data-testid="form-error">
      {props.error.message}
    </div>
  );
}
