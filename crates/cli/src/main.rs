//! `mixlab`: train and use Mixlab models natively. What can be typed is in `args`, what each
//! command does in `commands/` (each a short `run` over the core).

mod args;
mod commands;
mod error;
mod progress;
mod report_html;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match commands::run(args::Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
