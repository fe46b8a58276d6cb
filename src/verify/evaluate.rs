//! The two questions verify asks the policy engine, in the form the checks need.

use std::collections::BTreeMap;

use crate::policy::{
    Context, NamedPolicy, PolicyDocument, PolicySet, Request, RequestPrincipal, evaluate,
    evaluate_trust,
};

/// Why a question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum EvalFailure {
    #[error("policy `{name}` does not parse: {message}")]
    Parse { name: String, message: String },
    #[error("{0}")]
    Evaluate(String),
}

fn parse(name: &str, text: &str) -> Result<PolicyDocument, EvalFailure> {
    PolicyDocument::parse(text).map_err(|e| EvalFailure::Parse {
        name: name.into(),
        message: e.to_string(),
    })
}

/// Whether a trust policy lets AWS service `service` call `sts:AssumeRole`.
pub fn trust_allows_service(trust: &str, service: &str) -> Result<bool, EvalFailure> {
    let doc = parse("trust policy", trust)?;
    let principal = RequestPrincipal::Service(service.to_owned());
    let decision = evaluate_trust(&doc, &principal, "sts:AssumeRole", &Context::default())
        .map_err(|e| EvalFailure::Evaluate(e.to_string()))?;
    Ok(decision.is_allowed())
}

/// Whether a trust policy admits a web-identity token with `sub` and `aud` from `issuer`
/// (without `https://`), through the OIDC provider `provider_arn`.
pub fn trust_allows(
    trust: &str,
    provider_arn: &str,
    issuer: &str,
    sub: &str,
    aud: &str,
) -> Result<bool, EvalFailure> {
    let doc = parse("trust policy", trust)?;
    let principal = RequestPrincipal::Federated(provider_arn.to_owned());
    let context = Context::new()
        .with(&format!("{issuer}:sub"), sub)
        .with(&format!("{issuer}:aud"), aud);
    let action = "sts:AssumeRoleWithWebIdentity";
    let decision = evaluate_trust(&doc, &principal, action, &context)
        .map_err(|e| EvalFailure::Evaluate(e.to_string()))?;
    Ok(decision.is_allowed())
}

/// Which of `documents` (name to JSON) allows `action` on `resource`, if the set allows it.
pub fn identity_allows(
    documents: &BTreeMap<String, String>,
    action: &str,
    resource: &str,
) -> Result<Option<String>, EvalFailure> {
    identity_allows_with(documents, action, resource, &[])
}

/// [`identity_allows`] with request context keys and values.
pub fn identity_allows_with(
    documents: &BTreeMap<String, String>,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> Result<Option<String>, EvalFailure> {
    let identity = documents
        .iter()
        .map(|(name, text)| Ok(NamedPolicy::new(name.clone(), parse(name, text)?)))
        .collect::<Result<Vec<_>, EvalFailure>>()?;
    let set = PolicySet {
        identity,
        ..PolicySet::default()
    };
    let request = context
        .iter()
        .fold(Request::new(action, resource), |r, (k, v)| {
            r.with_context(k, *v)
        });
    let decision = evaluate(&set, &request).map_err(|e| EvalFailure::Evaluate(e.to_string()))?;
    let by = decision
        .deciding
        .first()
        .map(|s| s.policy.clone())
        .unwrap_or_default();
    Ok(decision.is_allowed().then_some(by))
}
