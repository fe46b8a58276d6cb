//! IAM policy documents: a typed model with canonical JSON, and an evaluator that follows
//! AWS's documented single-account policy evaluation logic.

mod eval;
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
