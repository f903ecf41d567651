import { Placeholder } from "../Placeholder";
export function ProductsRoutes() {
  return <Placeholder title="Products" />;
}
