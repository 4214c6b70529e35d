//! `warden demo [--keep]`: the whole story against the real server, on loopback (see
//! [`crate::demo`]). It reads no environment: the demo builds its own settings.

use std::process::ExitCode;

use crate::demo::Options;

pub(super) fn run(keep: bool, socket_mode: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("warden: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::demo::run(Options { keep, socket_mode })) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => super::fail(error),
    }
}
