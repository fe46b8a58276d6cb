//! `kfp-iam verify`: check every permission level.

use clap::Args;

use super::output::{Format, Paint, document, print, print_document};
use super::{Exit, SpecSource, connect};
use crate::verify::{VerifyReport, verify};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub source: SpecSource,
    /// Output format: text for people, or one JSON or YAML document on stdout.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

pub async fn run(args: VerifyArgs, color: bool) -> anyhow::Result<Exit> {
    let spec = args.source.load()?;
    let (aws, kube) = connect(&spec).await?;
    let report = verify(&spec, &aws, &kube).await?;
    match args.output {
        Format::Human => print(&render(&report, Paint(color)))?,
        format => print_document(format, &document("VerifyReport", &report)?)?,
    }
    Ok(if report.passed {
        Exit::Success
    } else {
        Exit::ChecksFailed
    })
}

/// One line per check; failed checks add what to do.
pub fn render(report: &VerifyReport, paint: Paint) -> String {
    let mut out = String::new();
    for check in &report.checks {
        let mark = if check.passed {
            paint.green("pass")
        } else {
            paint.red("FAIL")
        };
        out.push_str(&format!(
            "{mark} {} {}: {}\n",
            check.name, check.resource, check.detail
        ));
        if let Some(remedy) = &check.remedy {
            out.push_str(&format!("     fix: {remedy}\n"));
        }
    }
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    out.push_str(&match failed {
        0 => format!("\nAll {} checks passed.\n", report.checks.len()),
        n => format!("\n{n} of {} checks failed.\n", report.checks.len()),
    });
    out
}
