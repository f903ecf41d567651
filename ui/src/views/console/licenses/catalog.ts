// Names of the account's products and policies, for pickers and for showing names instead
// of ids. Loaded once per screen; a key without products:read / policies:read gets ids.
import { useEffect, useMemo, useState } from "react";
import { listPolicies } from "../../../api/console/policies";
import { listProducts } from "../../../api/console/products";
import type { Policy } from "../../../bindings/Policy";
import type { Product } from "../../../bindings/Product";
import { useScope } from "../session";

export type Catalog = {
  products: Product[];
  policies: Policy[];
  productName: (id: string) => string;
  policyName: (id: string) => string;
  loaded: boolean;
};

export function useCatalog(): Catalog {
  const canProducts = useScope("products:read");
  const canPolicies = useScope("policies:read");
  const [products, setProducts] = useState<Product[]>([]);
  const [policies, setPolicies] = useState<Policy[]>([]);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    let current = true;
    // A missing name is shown as the id: not worth an error on a list screen.
    void Promise.all([
      canProducts ? listProducts({ limit: 100, sort: "name" }).then((p) => p.data, () => []) : Promise.resolve([]),
      canPolicies ? listPolicies({ limit: 100, sort: "name" }).then((p) => p.data, () => []) : Promise.resolve([]),
    ]).then(([nextProducts, nextPolicies]) => {
      if (!current) return;
      setProducts(nextProducts);
      setPolicies(nextPolicies);
      setLoaded(true);
    });
    return () => {
      current = false;
    };
  }, [canProducts, canPolicies]);
  // Stable between renders: table columns built from it keep their cells (TanStack Table
  // renders a cell function as a component, so a new function remounts every cell).
  return useMemo(
    () => ({
      products,
      policies,
      loaded,
      productName: (id: string) => products.find((p) => p.id === id)?.name ?? id,
      policyName: (id: string) => policies.find((p) => p.id === id)?.name ?? id,
    }),
    [products, policies, loaded],
  );
}
