//! serve: one engine per fabric, shared by every hhdash of the user. The process that owns the
//! store (`hhdash serve`, or a dashboard or `watch` running its engines in-process) listens on
//! a Unix socket named after the store (`paths`); every other hhdash attaches to it: a
//! dashboard subscribes to the engine events and sends commands, a CLI command asks the server
//! to run it and prints what it printed (`protocol`).

pub mod client;
pub mod hub;
pub mod paths;
pub mod protocol;
pub mod run;
pub mod run_client;
pub mod server;

pub use server::{EngineHandle, Engines, ServeError, Server, ServerSetup, Shared};
