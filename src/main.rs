//! The `ismc` command-line tool. All logic lives in the library and in
//! `cli`; this file only parses arguments, runs, and maps errors to exit codes
//! (2 for bad input, 1 for internal failures).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ismc::memory::tune_allocator();
    let args = cli::Cli::parse();
    // Test hook (docs/testing.md): stop after parsing, so that the tests can
    // check every command line the documentation shows against the parser.
    if std::env::var_os("ISMC_PARSE_ONLY").is_some() {
        return ExitCode::SUCCESS;
    }
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            cli::exit_code_for(&err)
        }
    }
}
