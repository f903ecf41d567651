// Webhooks: endpoints that hear about licenses and machines, their test events, delivery
// log and signing secrets.
import { Route, Switch } from "wouter";
import "../catalog.css";
import { WebhookDetail } from "./Detail";
import { WebhookForm } from "./Form";
import { WebhookList } from "./List";

export function WebhooksRoutes() {
  return (
    <Switch>
      <Route path="/new">
        <WebhookForm />
      </Route>
      <Route path="/:id">{(params) => <WebhookDetail id={params.id} />}</Route>
      <Route>
        <WebhookList />
      </Route>
    </Switch>
  );
}
