//! The `kfp-iam` command line: one file per subcommand, shared options and output here.
//!
//! Data goes to stdout (human text, or one JSON or YAML document with `-o`); progress, logs
//! and errors go to stderr. Exit codes are listed in [`Exit`].

mod apply;
mod destroy;
mod output;
mod plan;
mod policy;
mod rotate;
mod spec;
mod verify;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::aws::SdkAws;
use crate::kube::KubeClient;
use crate::spec::Spec;

pub use output::Format;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `plan --detailed-exitcode`, no change pending.
    Success = 0,
    /// The command failed; the error is on stderr.
    Error = 1,
    /// `plan --detailed-exitcode` found changes to make.
    ChangesPending = 2,
    /// `verify` ran and at least one check failed.
    ChecksFailed = 3,
}

/// Declarative AWS and Kubernetes access for Kubeflow Pipelines driving SageMaker.
#[derive(Debug, Parser)]
#[command(name = "kfp-iam", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// When to color human output; NO_COLOR in the environment turns `auto` off.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change, without writing anything.
    Plan(plan::PlanArgs),
    /// Make AWS and Kubernetes match the spec.
    Apply(apply::ApplyArgs),
    /// Check every permission level and say how to fix what fails.
    Verify(verify::VerifyArgs),
    /// Replace the access key: new key into every Secret, confirm it, retire the old one.
    RotateKey(rotate::RotateArgs),
    /// Remove what kfp-iam made for the spec; what it does not own is left alone.
    Destroy(destroy::DestroyArgs),
    /// Lint, show and evaluate IAM policy documents.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Work with spec documents.
    #[command(subcommand)]
    Spec(spec::SpecCommand),
}

/// Where the spec comes from, and overrides for the environment.
#[derive(Debug, Clone, Args)]
pub struct SpecSource {
    /// Spec file (YAML), or `-` for stdin; without it, the built-in classic setup.
    #[arg(short = 'f', long = "file", value_name = "SPEC")]
    pub file: Option<String>,
    /// EKS cluster whose nodegroups' roles get `sagemaker:InvokeEndpoint` (sets spec.cluster).
    #[arg(long, env = "KFP_IAM_CLUSTER")]
    pub cluster: Option<String>,
    /// AWS region (sets spec.region).
    #[arg(long)]
    pub region: Option<String>,
}

impl SpecSource {
    /// Reads, overrides and validates the spec; nothing is contacted yet.
    pub fn load(&self) -> anyhow::Result<Spec> {
        let mut spec = match &self.file {
            Some(path) => Spec::load(path)?,
            None => Spec::default(),
        };
        if let Some(cluster) = &self.cluster {
            spec.spec.cluster = Some(cluster.clone());
        }
        if let Some(region) = &self.region {
            spec.spec.region = Some(region.clone());
        }
        spec.validate()?;
        Ok(spec)
    }
}

/// Seconds since the Unix epoch, by this machine's clock.
pub fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// Connects to AWS and Kubernetes as configured by the environment and the spec.
pub async fn connect(spec: &Spec) -> anyhow::Result<(SdkAws, KubeClient)> {
    let region = spec.spec.region.as_deref();
    let (aws, kube) = futures::future::join(SdkAws::connect(region), KubeClient::connect()).await;
    Ok((aws?, kube?))
}

/// Runs the parsed command line and returns the exit code.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let color = output::color_enabled(cli.color);
    match cli.command {
        Command::Plan(args) => plan::run(args, color).await,
        Command::Apply(args) => apply::run(args, color).await,
        Command::Verify(args) => verify::run(args, color).await,
        Command::RotateKey(args) => rotate::run(args, color).await,
        Command::Destroy(args) => destroy::run(args, color).await,
        Command::Policy(command) => policy::run(command).await,
        Command::Spec(command) => spec::run(command),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn cluster_flag_overrides_the_spec() {
        let source = SpecSource {
            file: None,
            cluster: Some("prod".into()),
            region: None,
        };
        assert_eq!(source.load().unwrap().spec.cluster.as_deref(), Some("prod"));
    }

    #[test]
    fn invalid_override_is_rejected_before_any_connection() {
        let source = SpecSource {
            file: None,
            cluster: None,
            region: Some("moon".into()),
        };
        let err = source.load().unwrap_err().to_string();
        assert!(
            err.contains("spec.region") && err.contains("`moon`"),
            "{err}"
        );
    }
}
