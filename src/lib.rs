//! Warden: a policy-enforcing gateway for the Claude API.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that tests and benches run the
//! same code as production. The module map follows `DESIGN.md`: wire types in [`api`], the HTTP
//! edge in [`server`], the forwarder in [`upstream`], the filter chain in [`filter`], and the
//! faithful mock of the Claude API in [`mock`].

pub mod api;
pub mod approvals;
pub mod audit;
pub mod cli;
pub mod config;
pub mod detect;
pub mod filter;
pub mod ids;
pub mod mock;
pub mod policy;
pub mod secret;
pub mod server;
#[cfg(feature = "otlp")]
pub mod telemetry;
pub mod upstream;
