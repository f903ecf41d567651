//! The commands the web UI can invoke, one file per area; `ui/src/api/<area>.ts` mirrors
//! each. Commands are thin: parse the input, call the SDK, map the answer.

pub mod app;
pub mod license;
pub mod offline;
