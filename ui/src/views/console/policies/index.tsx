// Policies: the rules a product's licenses follow, each explained in plain words.
import { Route, Switch } from "wouter";
import "../catalog.css";
import { PolicyForm } from "./Form";
import { PolicyList } from "./List";

export function PoliciesRoutes() {
  return (
    <Switch>
      <Route path="/new/:productId">{(params) => <PolicyForm productId={params.productId} />}</Route>
      <Route path="/new">
        <PolicyForm />
      </Route>
      <Route path="/:id">{(params) => <PolicyForm id={params.id} />}</Route>
      <Route>
        <PolicyList />
      </Route>
    </Switch>
  );
}
