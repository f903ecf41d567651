// Licenses (route /licenses/*): the list, issuing, import, and one license's page.
import { Route, Switch, useSearch } from "wouter";
import { LicenseDetail } from "./Detail";
import { filtersFromSearch, routeSearch } from "./helpers";
import { ImportLicenses } from "./Import";
import { IssueLicenses } from "./Issue";
import { LicenseList } from "./List";
import "./licenses.css";
import { Requires } from "../session";

// The hash router matches paths only, so a link written as `#/licenses?status=active`
// would find no screen. Such a hash has its query moved into the URL's search (where the
// router's own links put it) before the router reads it: on load and on every change.
// This listener is added at import, before the router subscribes, so it runs first.
function moveHashQuery() {
  const { hash } = window.location;
  const match = /^#(\/(?:licenses|machines)[^?]*)\?(.*)$/.exec(hash);
  if (!match) return;
  const url = new URL(window.location.href);
  url.hash = match[1] ?? "/";
  url.search = match[2] ?? "";
  window.history.replaceState(window.history.state, "", url.href);
}
moveHashQuery();
window.addEventListener("hashchange", moveHashQuery);

export function LicensesRoutes() {
  return (
    <Switch>
      <Route path="/issue">
        <section className="console-page">
          <Requires scope="licenses:write" what="Issuing licenses">
            <IssueLicenses />
          </Requires>
        </section>
      </Route>
      <Route path="/import">
        <section className="console-page">
          <Requires scope="licenses:write" what="Importing licenses">
            <ImportLicenses />
          </Requires>
        </section>
      </Route>
      <Route path="/:id">{(params) => <LicenseDetail key={params.id} id={params.id} />}</Route>
      <Route>
        <ListFromRoute />
      </Route>
    </Switch>
  );
}

/** The list, with its first filters from the link that led here (e.g. the dashboard's). */
function ListFromRoute() {
  const search = routeSearch(useSearch(), "");
  return <LicenseList key={search} initial={filtersFromSearch(search)} />;
}
