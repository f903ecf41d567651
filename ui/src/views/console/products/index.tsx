// Products: what a vendor sells licenses for; each page shows the account's public keys
// (JWKS) to pin into the vendor's app.
import { Route, Switch } from "wouter";
import "../catalog.css";
import { ProductDetail } from "./Detail";
import { ProductForm } from "./Form";
import { ProductList } from "./List";

export function ProductsRoutes() {
  return (
    <Switch>
      <Route path="/new">
        <ProductForm />
      </Route>
      <Route path="/:id/edit">{(params) => <ProductForm id={params.id} />}</Route>
      <Route path="/:id">{(params) => <ProductDetail id={params.id} />}</Route>
      <Route>
        <ProductList />
      </Route>
    </Switch>
  );
}
