//! Whole-system tests: Warden and the mock upstream on port 0, over real HTTP. All integration
//! tests compile into this one binary to keep link time down.

mod adversarial;
mod audit;
mod batches;
mod binary;
mod cache;
mod cli;
mod clients;
mod errors;
mod helpers;
mod limits;
mod logs;
mod passthrough;
mod policies;
mod quotas;
mod streaming;
mod telemetry;
mod tools;
