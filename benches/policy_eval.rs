//! Decisions per second of `evaluate` on the classic setup's managed policies.
//!
//! The identity holds AmazonSageMakerFullAccess and AmazonS3FullAccess, as the classic setup's
//! execution role does; each iteration decides a mix of allowed and denied requests.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kfp_iam::policy::{NamedPolicy, Outcome, PolicyDocument, PolicySet, Request, evaluate};

const SAGEMAKER: &str = include_str!("../src/policy/testdata/AmazonSageMakerFullAccess.json");
const S3: &str = include_str!("../src/policy/testdata/AmazonS3FullAccess.json");
const ROLE: &str = "arn:aws:iam::111122223333:role/sagemaker-kfp-role";

fn policies() -> PolicySet {
    let parse = |name: &str, text: &str| {
        let document = PolicyDocument::parse(text).expect("fixture parses");
        NamedPolicy::new(name, document)
    };
    PolicySet {
        identity: vec![
            parse("AmazonSageMakerFullAccess", SAGEMAKER),
            parse("AmazonS3FullAccess", S3),
        ],
        ..PolicySet::default()
    }
}

/// The request mix, each with the outcome it must get.
fn requests() -> Vec<(&'static str, Request, Outcome)> {
    let training_job = "arn:aws:sagemaker:us-west-2:111122223333:training-job/mnist-1";
    vec![
        (
            "create-training-job",
            Request::new("sagemaker:CreateTrainingJob", training_job),
            Outcome::Allow,
        ),
        (
            "s3-get-object",
            Request::new("s3:GetObject", "arn:aws:s3:::kfp-data/train/data.csv"),
            Outcome::Allow,
        ),
        (
            "pass-role-to-sagemaker",
            Request::new("iam:PassRole", ROLE)
                .with_context("iam:PassedToService", "sagemaker.amazonaws.com"),
            Outcome::Allow,
        ),
        (
            "pass-role-without-service",
            Request::new("iam:PassRole", ROLE),
            Outcome::ImplicitDeny,
        ),
        (
            "ec2-run-instances",
            Request::new("ec2:RunInstances", "*"),
            Outcome::ImplicitDeny,
        ),
    ]
}

fn bench_evaluate(c: &mut Criterion) {
    let policies = policies();
    let requests = requests();
    for (name, request, expected) in &requests {
        let decision = evaluate(&policies, request).expect("request evaluates");
        assert_eq!(decision.outcome, *expected, "{name}");
    }

    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("mixed", |b| {
        b.iter(|| {
            for (_, request, _) in &requests {
                black_box(evaluate(black_box(&policies), black_box(request)).ok());
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    for (name, request, _) in &requests {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(evaluate(black_box(&policies), black_box(request)).ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
