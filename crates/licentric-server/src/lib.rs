//! The Licentric license server.
//!
//! It speaks the Licentric `/api/v1` API over HTTP (axum) and keeps its data in SQLite
//! (sqlx), one file and zero set-up. Start reading at [`startup::Application`]; each API
//! area has a file under `routes/` for HTTP and one under `db/` for its SQL.

pub mod admission;
pub mod api_key;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod csv_rows;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod events;
pub mod extract;
pub mod forwarded;
pub mod guards;
pub mod issuance;
pub mod listener;
pub mod migrate_db;
pub mod openapi;
pub mod params;
pub mod provision;
pub mod rate_limit;
pub mod routes;
pub mod secret;
pub mod signing;
pub mod startup;
pub mod state;
pub mod tenant;
pub mod webhook_target;

pub use config::ServerConfig;
pub use error::ApiError;
pub use provision::{provision, DemoData, ProvisionOptions, Provisioned};
pub use secret::ServerSecret;
pub use startup::{Application, RunningServer};
pub use state::{AppState, Settings};
