//! IAM policy documents: a typed model with canonical JSON, and an evaluator of requests.
//!
//! [`PolicyDocument`] parses every spelling AWS accepts and writes one canonical form;
//! [`evaluate`] and [`evaluate_trust`] follow AWS's documented single-account evaluation logic
//! and return an [`EvalError`] rather than guess where they cannot be faithful.

pub mod catalog;
mod eval;
pub mod generate;
pub mod lint;
mod model;

#[cfg(test)]
mod cases;

pub use eval::{
    Context, Decision, EvalError, NamedPolicy, Outcome, PolicySet, Request, RequestPrincipal,
    StatementRef, evaluate, evaluate_trust,
};
pub use model::{
    ActionSpec, Conditions, Effect, ParseError, PolicyDocument, Principal, PrincipalKind,
    PrincipalSpec, ResourceSpec, Statement, VERSION_2012_10_17,
};
