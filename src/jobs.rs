//! Jobs: the tracked runs of commands. `model` is the record, `render` the chat messages about
//! a job (progress and alerts), `runner` claims queued jobs with a lease and runs their
//! actions, `builtin` runs the built-in actions (flags), `recover` finds jobs whose runner died.
//!
//! Invariants: a job is claimed by exactly one runner (one `UPDATE … RETURNING`), its lease is
//! renewed while it runs, and a job whose lease ran out is failed or re-queued by whichever
//! replica notices first (compare-and-set). Every state change writes its audit event in the
//! same transaction.

pub mod builtin;
pub mod model;
pub mod recover;
pub mod render;
pub mod runner;
pub mod thread;

pub use model::{display_id, parse_id, Job, JobStatus, NewJob};
pub use runner::{Runner, RunnerConfig};
