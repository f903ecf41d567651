// Mirrors src-tauri/commands/console/products.rs.
import type { ListQuery } from "../../bindings/ListQuery";
import type { NewProduct } from "../../bindings/NewProduct";
import type { Page } from "../../bindings/Page";
import type { Product } from "../../bindings/Product";
import type { ProductUpdate } from "../../bindings/ProductUpdate";
import { call } from "../invoke";

export const listProducts = (query: ListQuery) => call<Page<Product>>("list_products", { query });
export const getProduct = (id: string) => call<Product>("get_product", { id });
export const createProduct = (product: NewProduct) => call<Product>("create_product", { product });
export const updateProduct = (id: string, update: ProductUpdate) => call<Product>("update_product", { id, update });
export const deleteProduct = (id: string) => call<null>("delete_product", { id });
export const accountJwks = () => call<string>("account_jwks");
