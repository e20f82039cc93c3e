use std::process::ExitCode;

use clap::Parser;
use exomatrix::cli::{self, Cli, ExitStatus};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            // A closed pipe (e.g. `| head`) is not an error.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitStatus::Success.into();
            }
            eprintln!("error: {err:#}");
            ExitStatus::Error.into()
        }
    }
}
