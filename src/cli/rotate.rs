//! `kfp-iam rotate-key`: replace the access key now.

use clap::Args;

use super::apply::{finish, render};
use super::output::{Format, Paint};
use super::{Exit, SpecSource, connect};
use crate::apply::apply;
use crate::plan::{DiffOptions, plan};
use crate::spec::IdentityMode;

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub source: SpecSource,
    /// Output format: text for people, or one JSON or YAML document on stdout.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// Plans a forced rotation and applies it with everything else the spec needs: a new key
/// goes into every Secret, is confirmed with STS, and only then is the old one deactivated
/// and deleted. Killed at any point, the next `apply` or `rotate-key` finishes the job.
pub async fn run(args: RotateArgs, color: bool) -> anyhow::Result<Exit> {
    let spec = args.source.load()?;
    if spec.spec.identity.mode != IdentityMode::AccessKey {
        anyhow::bail!(
            "rotate-key needs `spec.identity.mode: access-key`: irsa and \
            pod-identity use short-lived credentials and have no key to rotate"
        );
    }
    let (aws, kube) = connect(&spec).await?;
    let options = DiffOptions {
        rotate: true,
        now: super::now(),
        ..DiffOptions::default()
    };
    let (desired, observed, plan) = plan(&spec, &aws, &kube, options).await?;
    if !observed.secrets.iter().any(|s| s.health.is_working()) {
        eprintln!("no Secret holds a working key yet: creating one instead of rotating");
    }
    let result = apply(&plan, &desired, &observed, &aws, &kube).await;
    finish(result, args.output, "ApplyReport", |report| {
        render(report, Paint(color))
    })
}
