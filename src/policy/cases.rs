//! Runs the evaluation case table in `testdata/eval_cases.json`; each case cites its AWS rule.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{
    Context, Decision, NamedPolicy, Outcome, PolicyDocument, PolicySet, Request, RequestPrincipal,
    evaluate, evaluate_trust,
};

const CASES: &str = include_str!("testdata/eval_cases.json");
const MANAGED: &[(&str, &str)] = &[
    (
        "AmazonSageMakerFullAccess",
        include_str!("testdata/AmazonSageMakerFullAccess.json"),
    ),
    (
        "AmazonS3FullAccess",
        include_str!("testdata/AmazonS3FullAccess.json"),
    ),
];

/// One case; `statement` is shorthand for one 2012-10-17 identity policy of one statement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rule: String,
    #[serde(default)]
    statement: Option<Value>,
    #[serde(default)]
    identity: Vec<Value>,
    #[serde(default)]
    managed: Vec<String>,
    #[serde(default)]
    boundary: Option<Value>,
    #[serde(default)]
    resource_policies: Vec<Value>,
    #[serde(default)]
    trust: Option<Value>,
    #[serde(default)]
    principal: Option<BTreeMap<String, String>>,
    action: String,
    #[serde(default = "star")]
    resource: String,
    #[serde(default)]
    context: BTreeMap<String, Value>,
    expect: String,
    #[serde(default)]
    deciding: Option<Vec<String>>,
    #[serde(default)]
    error: Option<String>,
}

fn star() -> String {
    "*".into()
}

fn document(value: &Value, case: &str) -> PolicyDocument {
    PolicyDocument::from_value(value).unwrap_or_else(|e| panic!("{case}: bad policy: {e}"))
}

fn principal(spec: &BTreeMap<String, String>, case: &str) -> RequestPrincipal {
    match spec.iter().next() {
        Some((kind, id)) if spec.len() == 1 => match kind.as_str() {
            "AWS" => RequestPrincipal::Aws(id.clone()),
            "Service" => RequestPrincipal::Service(id.clone()),
            "Federated" => RequestPrincipal::Federated(id.clone()),
            "CanonicalUser" => RequestPrincipal::CanonicalUser(id.clone()),
            _ => panic!("{case}: unknown principal kind {kind}"),
        },
        _ => panic!("{case}: principal needs exactly one kind"),
    }
}

fn context(entries: &BTreeMap<String, Value>, case: &str) -> Context {
    let mut context = Context::new();
    for (key, value) in entries {
        let values: Vec<String> = match value {
            Value::String(one) => vec![one.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .unwrap_or_else(|| panic!("{case}: bad value"))
                        .to_owned()
                })
                .collect(),
            _ => panic!("{case}: context values are strings or lists of strings"),
        };
        context.insert(key, values);
    }
    context
}

fn run(case: &Case) -> Result<Decision, super::EvalError> {
    let context = context(&case.context, &case.name);
    let principal = case.principal.as_ref().map(|p| principal(p, &case.name));
    if let Some(trust) = &case.trust {
        let principal =
            principal.unwrap_or_else(|| panic!("{}: trust needs a principal", case.name));
        return evaluate_trust(
            &document(trust, &case.name),
            &principal,
            &case.action,
            &context,
        );
    }

    let mut policies = PolicySet::default();
    if let Some(statement) = &case.statement {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [statement]});
        policies
            .identity
            .push(NamedPolicy::new("identity0", document(&doc, &case.name)));
    }
    for (i, doc) in case.identity.iter().enumerate() {
        let name = format!("identity{}", i + usize::from(case.statement.is_some()));
        policies
            .identity
            .push(NamedPolicy::new(name, document(doc, &case.name)));
    }
    for name in &case.managed {
        let (_, text) = MANAGED
            .iter()
            .find(|(known, _)| known == name)
            .unwrap_or_else(|| panic!("{}: no managed policy {name}", case.name));
        let doc = PolicyDocument::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        policies.identity.push(NamedPolicy::new(name.clone(), doc));
    }
    policies.boundary = case
        .boundary
        .as_ref()
        .map(|doc| NamedPolicy::new("boundary", document(doc, &case.name)));
    for (i, doc) in case.resource_policies.iter().enumerate() {
        policies.resource.push(NamedPolicy::new(
            format!("resource{i}"),
            document(doc, &case.name),
        ));
    }
    let request = Request {
        principal,
        action: case.action.clone(),
        resource: case.resource.clone(),
        context,
    };
    evaluate(&policies, &request)
}

fn check(case: &Case) -> Result<(), String> {
    let outcome = run(case);
    let got = match &outcome {
        Ok(decision) => format!("{:?}", decision.outcome),
        Err(_) => "Error".to_owned(),
    };
    if got != case.expect {
        return Err(format!("expected {}, got {got} ({outcome:?})", case.expect));
    }
    if let (Some(expected), Ok(decision)) = (&case.deciding, &outcome) {
        let deciding: Vec<String> = decision
            .deciding
            .iter()
            .map(|r| format!("{}#{}", r.policy, r.index))
            .collect();
        if &deciding != expected {
            return Err(format!("expected deciding {expected:?}, got {deciding:?}"));
        }
    }
    if let (Some(expected), Err(err)) = (&case.error, &outcome) {
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            chain = format!("{chain}: {inner}");
            source = inner.source();
        }
        if !chain.contains(expected.as_str()) {
            return Err(format!(
                "expected error containing {expected:?}, got {chain:?}"
            ));
        }
    }
    Ok(())
}

fn cases() -> Vec<Case> {
    serde_json::from_str(CASES).unwrap_or_else(|e| panic!("eval_cases.json: {e}"))
}

#[test]
fn every_table_case_matches_the_documented_rule() {
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|case| {
            check(case)
                .err()
                .map(|e| format!("{} [{}]: {e}", case.name, case.rule))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn table_has_at_least_a_hundred_distinct_cited_cases() {
    let cases = cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    assert!(
        cases.iter().all(|c| !c.rule.trim().is_empty()),
        "every case cites a rule"
    );
    let outcomes = ["Allow", "ExplicitDeny", "ImplicitDeny", "Error"];
    assert!(cases.iter().all(|c| outcomes.contains(&c.expect.as_str())));
}

#[test]
fn outcome_debug_names_match_the_table_spelling() {
    assert_eq!(format!("{:?}", Outcome::ExplicitDeny), "ExplicitDeny");
}
