//! `kfp-iam spec`: print and check spec documents.

use clap::Subcommand;

use super::output::print;
use super::{Exit, SpecSource};
use crate::spec::Spec;

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Print the built-in default spec (the classic setup) as YAML.
    Default,
    /// Validate a spec without contacting AWS or Kubernetes.
    Validate {
        #[command(flatten)]
        source: SpecSource,
    },
}

pub fn run(command: SpecCommand) -> anyhow::Result<Exit> {
    match command {
        SpecCommand::Default => print(&Spec::default().to_yaml())?,
        SpecCommand::Validate { source } => {
            source.load()?;
            eprintln!("spec is valid");
        }
    }
    Ok(Exit::Success)
}
