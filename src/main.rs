//! The `warden` binary: parse the command line and run it. Everything else lives in the library.

use std::process::ExitCode;

/// Only with `--features mimalloc` (docs/PERFORMANCE.md, "The allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    warden::cli::main()
}
