// Add or edit a webhook endpoint: its URL, a note, and which events it hears.
import { useState, type FormEvent } from "react";
import { useLocation } from "wouter";
import { createWebhook, updateWebhook } from "../../../api/console/webhooks";
import type { Webhook } from "../../../bindings/Webhook";
import { Field, fieldProblem } from "../../../components/Field";
import { useToast } from "../../../components/Toasts";
import { useCommand } from "../../../hooks/useCommand";
import { FormProblems, PageHeader, SecretOnce } from "../catalog";
import { Requires } from "../session";
import { EVENT_TYPES } from "./events";

export function WebhookForm() {
  const [, navigate] = useLocation();
  const [created, setCreated] = useState<Webhook | null>(null);
  return (
    <section className="console-page" data-testid="webhook-form-page">
      <PageHeader
        title="Add a webhook endpoint"
        crumb={{ href: "/", label: "Webhooks" }}
        description="Licentric POSTs each chosen event to this URL as JSON, signed with the endpoint's secret."
      />
      <Requires scope="webhooks:write" what="Adding webhooks">
        {created ? (
          <SecretOnce
            title="The endpoint's signing secret"
            secret={created.secret ?? ""}
            why="The console cannot show it again. If it is lost, rotate the secret and update your receiver."
            onDismiss={() => navigate(`/${created.id}`)}
          />
        ) : (
          <WebhookFields onSaved={setCreated} onCancel={() => navigate("/")} />
        )}
      </Requires>
    </section>
  );
}

export function WebhookFields(props: { webhook?: Webhook; onSaved: (webhook: Webhook) => void; onCancel: () => void }) {
  const { webhook } = props;
  const toast = useToast();
  const [url, setUrl] = useState(webhook?.url ?? "");
  const [description, setDescription] = useState(webhook?.description ?? "");
  const [all, setAll] = useState(webhook ? webhook.events.includes("*") : true);
  const [events, setEvents] = useState<string[]>(webhook && !webhook.events.includes("*") ? webhook.events : []);
  const save = useCommand(() => {
    const chosen = all ? ["*"] : events;
    const note = description.trim() || null;
    return webhook
      ? updateWebhook(webhook.id, { url, events: chosen, description: note })
      : createWebhook({ url, events: chosen, description: note, enabled: true });
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    const saved = await save.run();
    if (saved) {
      toast({ message: webhook ? "Endpoint saved." : "Endpoint added." });
      props.onSaved(saved);
    }
  }

  return (
    <form className="card form" onSubmit={submit} noValidate data-testid="webhook-form">
      {webhook && <h2>Edit endpoint</h2>}
      <div className="form-grid">
        <Field
          label="Endpoint URL"
          help="An https:// address of your server that answers 2xx quickly. Private and loopback addresses are refused unless the server's operator allows them."
          problem={fieldProblem(save.error, "url")}
        >
          <input data-testid="webhook-url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://" spellCheck={false} autoFocus />
        </Field>
        <Field label="Note" help="Optional, e.g. CRM sync." problem={fieldProblem(save.error, "description")}>
          <input data-testid="webhook-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
      </div>
      <fieldset className="field">
        <legend>Events</legend>
        <label className="check">
          <input type="checkbox" data-testid="webhook-all-events" checked={all} onChange={(e) => setAll(e.target.checked)} />
          All events, including ones added in future versions
        </label>
        {!all && (
          <div className="check-grid" data-testid="webhook-events">
            {EVENT_TYPES.map(({ type, what }) => (
              <label key={type} className="check">
                <input
                  type="checkbox"
                  data-testid={`event-${type}`}
                  checked={events.includes(type)}
                  onChange={(e) => setEvents(e.target.checked ? [...events, type] : events.filter((t) => t !== type))}
                />
                <span>
                  <code>{type}</code>
                  <br />
                  <span className="muted small">when {what}</span>
                </span>
              </label>
            ))}
          </div>
        )}
        {fieldProblem(save.error, "events") && <p className="field-problem">{fieldProblem(save.error, "events")}</p>}
      </fieldset>
      <FormProblems error={save.error} fields={["url", "description", "events"]} />
      <div className="form-actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button primary" data-testid="webhook-submit" disabled={save.busy || (!all && events.length === 0)}>
          {save.busy ? "Saving…" : webhook ? "Save changes" : "Add endpoint"}
        </button>
      </div>
    </form>
  );
}
