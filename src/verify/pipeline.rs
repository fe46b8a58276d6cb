//! What the pipeline identity may do, decided by evaluating its policies: every action its
//! components call, passing the execution role to SageMaker, and, in scoped mode, nothing
//! beyond (no other role, no IAM writes, no other bucket).

use std::collections::BTreeMap;

use super::evaluate::identity_allows_with;
use super::{APPLY, Check, Outcome, check};
use crate::aws::Aws;
use crate::plan::{Desired, Observed, PlanError};
use crate::policy::catalog;
use crate::spec::{IdentityMode, PermissionMode};

/// A request made up to ask the policies a question; its names exist nowhere.
const PROBE: &str = "kfp-iam-verify";

/// An IAM identity whose policies can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity<'a> {
    User(&'a str),
    Role(&'a str),
}

/// Every identity policy of a user or role, managed and (for roles) inline, by name.
pub async fn identity_documents(
    identity: Identity<'_>,
    aws: &impl Aws,
) -> Result<BTreeMap<String, String>, PlanError> {
    let (attached, role) = match identity {
        Identity::User(name) => (aws.list_user_policies(name).await?, None),
        Identity::Role(name) => (aws.list_role_policies(name).await?, Some(name)),
    };
    collect(&attached, role, aws).await
}

/// The documents of the pipeline identity: the user, or the first pipeline role (all of
/// them carry the same permissions).
async fn documents(
    desired: &Desired,
    observed: &Observed,
    aws: &impl Aws,
) -> Result<Option<BTreeMap<String, String>>, PlanError> {
    let (attached, role) = match desired.mode {
        IdentityMode::AccessKey if observed.user.is_some() => (&observed.user_policies, None),
        IdentityMode::AccessKey => return Ok(None),
        _ => {
            let Some(role) = desired.pipeline_roles.first() else {
                return Ok(None);
            };
            let Some(found) = observed.pipeline_roles.get(&role.name) else {
                return Ok(None);
            };
            (&found.policies, Some(role.name.as_str()))
        }
    };
    Ok(Some(collect(attached, role, aws).await?))
}

async fn collect(
    attached: &[String],
    role: Option<&str>,
    aws: &impl Aws,
) -> Result<BTreeMap<String, String>, PlanError> {
    let mut docs = BTreeMap::new();
    for arn in attached {
        if let Some(doc) = aws.get_managed_policy_document(arn).await? {
            docs.insert(arn.clone(), doc);
        }
    }
    if let Some(role) = role {
        for name in aws.list_role_inline_policies(role).await? {
            if let Some(doc) = aws.get_role_inline_policy(role, &name).await? {
                docs.insert(name, doc);
            }
        }
    }
    Ok(docs)
}

/// A resource ARN the action would be called on, from the catalog's ARN formats.
fn sample_resource(desired: &Desired, action: &str, component_types: &[String]) -> String {
    let Some((service, act)) = catalog::lookup(action) else {
        return "*".into();
    };
    if act.needs_star() {
        return "*".into();
    }
    let own_type = component_types
        .iter()
        .filter_map(|t| t.split_once(':'))
        .filter(|(s, _)| *s == service.prefix)
        .map(|(_, t)| t)
        .find(|t| act.resource_types.iter().any(|u| u.name == *t));
    let chosen = act
        .required_types()
        .next()
        .or(own_type)
        .or(act.resource_types.first().map(|t| t.name.as_str()));
    let Some(format) = chosen.and_then(|t| service.arn_format(t)) else {
        return "*".into();
    };
    let name = match desired_prefix(desired) {
        Some(prefix) => format!("{prefix}{PROBE}"),
        None => PROBE.to_owned(),
    };
    fill(format, desired, &name)
}

fn desired_prefix(desired: &Desired) -> Option<String> {
    desired.endpoint_prefixes.first().map(|p| p.to_lowercase())
}

/// Replaces `${Partition}`, `${Region}`, `${Account}` and every other `${Name}` in an ARN
/// format.
fn fill(format: &str, desired: &Desired, name: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push_str(match &rest[start + 2..start + end] {
            "Partition" => &desired.partition,
            "Region" => &desired.region,
            "Account" => &desired.account,
            _ => name,
        });
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn decide(
    docs: &BTreeMap<String, String>,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> Result<bool, String> {
    identity_allows_with(docs, action, resource, context)
        .map(|by| by.is_some())
        .map_err(|e| e.to_string())
}

/// The pipeline identity's checks.
pub async fn checks(
    desired: &Desired,
    observed: &Observed,
    aws: &impl Aws,
) -> Result<Vec<Check>, PlanError> {
    let identity = match desired.mode {
        IdentityMode::AccessKey => desired.user.clone(),
        _ => desired
            .pipeline_roles
            .first()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
    };
    let Some(docs) = documents(desired, observed, aws).await? else {
        return Ok(Vec::new());
    };

    // Every action of every component in scope.
    let mut denied = Vec::new();
    let mut asked = 0;
    for component in &desired.components {
        let types = catalog::component(component.key())
            .map(|c| c.resource_types.clone())
            .unwrap_or_default();
        for action in component.actions() {
            asked += 1;
            let resource = sample_resource(desired, action, &types);
            match decide(&docs, action, &resource, &[]) {
                Ok(true) => {}
                Ok(false) => denied.push(format!("{action} on {resource}")),
                Err(e) => denied.push(format!("{action}: {e}")),
            }
        }
    }
    let actions: Outcome = match denied.first() {
        None => Ok(format!(
            "all {asked} actions of {} components allowed",
            desired.components.len()
        )),
        Some(_) => Err((
            format!(
                "{} of {asked} actions denied, e.g. {}",
                denied.len(),
                denied
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            APPLY.into(),
        )),
    };

    let execution = format!(
        "arn:{}:iam::{}:role/{}",
        desired.partition, desired.account, desired.role
    );
    let to_sagemaker = [("iam:PassedToService", "sagemaker.amazonaws.com")];
    let pass: Outcome = match decide(&docs, "iam:PassRole", &execution, &to_sagemaker) {
        Ok(true) => Ok(format!("may pass `{execution}` to SageMaker")),
        Ok(false) => Err((
            format!("may not pass `{execution}` to SageMaker"),
            APPLY.into(),
        )),
        Err(e) => Err((format!("cannot be evaluated: {e}"), APPLY.into())),
    };
    let mut out = vec![
        check("pipeline-actions", &identity, actions),
        check("pipeline-pass-role", &identity, pass),
    ];
    if desired.permissions == PermissionMode::Scoped {
        out.push(check(
            "pipeline-least-privilege",
            &identity,
            least_privilege(desired, &docs),
        ));
    }
    Ok(out)
}

/// Requests a scoped pipeline identity must not be allowed.
fn least_privilege(desired: &Desired, docs: &BTreeMap<String, String>) -> Outcome {
    let (p, account) = (&desired.partition, &desired.account);
    let execution = format!("arn:{p}:iam::{account}:role/{}", desired.role);
    let other_role = format!("arn:{p}:iam::{account}:role/{PROBE}-other");
    let forbidden = [
        (
            "iam:PassRole",
            other_role.as_str(),
            Some("sagemaker.amazonaws.com"),
        ),
        (
            "iam:PassRole",
            execution.as_str(),
            Some("ec2.amazonaws.com"),
        ),
        (
            "iam:CreateUser",
            &format!("arn:{p}:iam::{account}:user/{PROBE}") as &str,
            None,
        ),
        ("iam:AttachRolePolicy", execution.as_str(), None),
        (
            "s3:GetObject",
            &format!("arn:{p}:s3:::{PROBE}-other-bucket/key") as &str,
            None,
        ),
        (
            "s3:PutObject",
            &format!("arn:{p}:s3:::{PROBE}-other-bucket/key") as &str,
            None,
        ),
    ];
    let mut allowed = Vec::new();
    for (action, resource, service) in forbidden {
        let context: Vec<(&str, &str)> = service
            .map(|s| ("iam:PassedToService", s))
            .into_iter()
            .collect();
        match decide(docs, action, resource, &context) {
            Ok(false) => {}
            Ok(true) => allowed.push(format!("{action} on {resource}")),
            Err(e) => return Err((format!("cannot be evaluated: {e}"), APPLY.into())),
        }
    }
    match allowed.is_empty() {
        true => Ok("no other role, no IAM writes, no other bucket".into()),
        false => Err((
            format!("allows {}", allowed.join("; ")),
            "remove the extra managed policies from the spec, then run `kfp-iam apply`".into(),
        )),
    }
}
