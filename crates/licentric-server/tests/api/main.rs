//! The server's API tests: each test starts a fresh server on a free loopback port with a
//! fresh SQLite file, and talks to it over real HTTP.

// A test that cannot set itself up should stop right there, loudly.
#![allow(clippy::unwrap_used)]

mod analytics;
mod api_keys;
mod backup;
mod binary;
mod cli;
mod console;
mod crash;
mod errors;
mod events;
mod health;
mod helpers;
mod hostile;
mod isolation;
mod licenses;
mod machines;
mod nginx;
mod offline;
mod openapi;
mod overload;
mod postgres;
mod products;
mod proxy;
mod rate_limits;
mod runtime;
mod scopes;
mod security;
mod seeds;
mod stress;
mod totals;
mod trust;
mod validate_key;
mod webhooks;
