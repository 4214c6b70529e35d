//! Everything that faces a chat platform. `verify` checks signatures on raw bytes; `slack` and
//! `discord` turn platform JSON into the neutral `Invocation` and render neutral `Reply`s back;
//! `invocation` holds the neutral types every platform builds.
//!
//! Architecture invariant: `slack` and `discord` never import each other, and nothing outside
//! them knows a platform's JSON.

pub mod discord;
pub mod invocation;
pub mod message;
pub mod slack;
pub mod verify;

pub use invocation::{ArgsInput, InThread, Invocation, Reply, ReplyHandle, Transport};
pub use message::{Button, ButtonKind, Click, Message, MessageRef};
