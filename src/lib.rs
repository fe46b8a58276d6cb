//! kfp-iam: the AWS and Kubernetes access that Kubeflow Pipelines needs to drive SageMaker,
//! declared once and applied idempotently.
//!
//! The flow is one way: [`spec`] (what the user declares) becomes [`plan::Desired`]; the
//! [`aws`] and [`kube`] adapters read [`plan::Observed`]; [`plan::diff`] lists the changes;
//! [`apply`] makes them and [`verify`] checks the result. [`policy`] models and evaluates IAM
//! documents for both.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod fault;
pub mod kube;
pub mod plan;
pub mod policy;
pub mod retry;
pub mod secret;
pub mod spec;
pub mod verify;
