//! The licensing rules, between the HTTP handlers and the storage layer.
//!
//! A handler parses, authorises, calls one function here and answers. Every write passes
//! through this layer, which records its audit event ([`audit`]) next to the webhook event
//! it emits, so "who changed this, and when?" has one answer for every route.

pub mod analytics;
pub mod audit;
pub mod batches;
pub mod licenses;
pub mod machines;
pub mod runtime;
pub mod validation;

pub use audit::{Actor, ActorKind};
