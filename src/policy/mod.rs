//! IAM policy documents: a typed model with canonical JSON, and an evaluator that follows
//! AWS's documented single-account policy evaluation logic.

mod model;

pub use model::{
    ActionSpec, Conditions, Effect, ParseError, PolicyDocument, Principal, PrincipalKind,
    PrincipalSpec, ResourceSpec, Statement, VERSION_2012_10_17,
};
