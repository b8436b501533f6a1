//! The `main` of every domain binary: allocator and logging set up, the domain's subcommands
//! parsed under its name, errors printed with their causes and exit status 1.

use clap::Subcommand;

/// Parse `C` from the command line as the binary `name` (`about` is its one-line help).
pub fn parse<C: Subcommand>(name: &'static str, about: &'static str) -> C {
    let cmd = C::augment_subcommands(
        clap::Command::new(name)
            .version(env!("CARGO_PKG_VERSION"))
            .about(about)
            .subcommand_required(true)
            .arg_required_else_help(true),
    );
    let matches = cmd.get_matches();
    C::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Run the binary `name`: parse its subcommand and hand it to `run`; an error is printed as
/// `name: error: …` with its whole chain of causes, and the process exits with status 1.
pub fn main<C: Subcommand, E: std::fmt::Display>(
    name: &'static str,
    about: &'static str,
    run: impl FnOnce(C) -> Result<(), E>,
) {
    crate::allocator::tune_for_tensors();
    crate::cli::init_tracing();
    if let Err(e) = run(parse::<C>(name, about)) {
        eprintln!("{name}: error: {e:#}");
        std::process::exit(1);
    }
}
