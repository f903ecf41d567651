//! Products: list, read, create, edit, delete, and the account's public keys (JWKS) to
//! pin into the vendor's app.

use licentric_core::wire::{NewProduct, Page, Product, ProductUpdate};
use tauri::State;

use super::{run, session, ListQuery};
use crate::{error::Error, state::AppState};

/// Lists products (`q` matches names).
#[tauri::command]
pub async fn list_products(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<Product>, Error> {
    run(&state, "list_products", |api| async move {
        api.list_products(&query.params()).await
    })
    .await
}

/// One product.
#[tauri::command]
pub async fn get_product(state: State<'_, AppState>, id: String) -> Result<Product, Error> {
    run(&state, "get_product", |api| async move {
        api.get_product(&id).await
    })
    .await
}

/// Creates a product.
#[tauri::command]
pub async fn create_product(
    state: State<'_, AppState>,
    product: NewProduct,
) -> Result<Product, Error> {
    run(&state, "create_product", |api| async move {
        api.create_product(&product).await
    })
    .await
}

/// Edits a product.
#[tauri::command]
pub async fn update_product(
    state: State<'_, AppState>,
    id: String,
    update: ProductUpdate,
) -> Result<Product, Error> {
    run(&state, "update_product", |api| async move {
        api.update_product(&id, &update).await
    })
    .await
}

/// Deletes a product (refused while it has policies or licenses).
#[tauri::command]
pub async fn delete_product(state: State<'_, AppState>, id: String) -> Result<(), Error> {
    run(&state, "delete_product", |api| async move {
        api.delete_product(&id).await
    })
    .await
}

/// The account's JWKS (public keys only), as an app pins it.
#[tauri::command]
pub async fn account_jwks(state: State<'_, AppState>) -> Result<String, Error> {
    let session = session(&state, "account_jwks").await?;
    let account = session.info.key.account_id.clone();
    session
        .api
        .jwks(&account)
        .await
        .map_err(|error| state.remember("account_jwks", error.into()))
}
