//! The `warden` binary: parse the command line and run it. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    warden::cli::main()
}
