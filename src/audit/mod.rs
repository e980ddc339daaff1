//! The audit store: one record per exchange with its findings, written off the request path,
//! hash-chained per instance, in Postgres or the embedded SQLite. It knows nothing of HTTP.

pub mod journal;
pub mod record;
pub mod spool;
pub mod store;
pub mod tombstone;
pub mod writer;

pub use record::{ChainedRecord, Decision, ExchangeRecord, FindingRow, ToolCallRow, ToolResultRow};
pub use store::{
    ApprovalDecisionRow, ApprovalEventRow, ApprovalRequestRow, AuditStore, BoundCall, StoreError,
};
pub use writer::{AuditWriter, StoreState, WriterConfig};
