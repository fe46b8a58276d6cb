//! Verify: checks every permission level against the live state and says how to fix what
//! fails.
//!
//! Verify only reads. Policy checks are decided by kfp-iam's own policy evaluation over the
//! documents AWS holds, not by comparing text, so an equivalent policy written by hand passes.

mod evaluate;

use std::collections::BTreeMap;

use futures::future::try_join_all;
use serde::Serialize;

use crate::apply::Calls;
use crate::aws::Aws;
use crate::kube::Kube;
use crate::plan::{Desired, KeyHealth, Observed, PlanError, key_in_secret, observe};
use crate::spec::Spec;

pub use evaluate::{EvalFailure, identity_allows, trust_allows_service};

/// Service principal SageMaker uses to assume the execution role.
pub const SAGEMAKER_SERVICE: &str = "sagemaker.amazonaws.com";

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable identifier, such as `role-trust`.
    pub name: String,
    /// The resource checked.
    pub resource: String,
    pub passed: bool,
    /// What was found.
    pub detail: String,
    /// What to do when the check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// Every check, in level order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub passed: bool,
    pub checks: Vec<Check>,
    pub calls: Calls,
}

fn check(name: &str, resource: &str, result: Result<String, (String, String)>) -> Check {
    let (passed, detail, remedy) = match result {
        Ok(detail) => (true, detail, None),
        Err((detail, remedy)) => (false, detail, Some(remedy)),
    };
    Check { name: name.into(), resource: resource.into(), passed, detail, remedy }
}

const APPLY: &str = "run `kfp-iam apply` to repair it";

/// Checks the three permission levels the spec describes.
pub async fn verify(
    spec: &Spec,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<VerifyReport, PlanError> {
    let node_roles = crate::plan::resolve_node_roles(spec, aws).await?;
    let desired = Desired::new(spec, node_roles);
    let observed = observe(&desired, aws, kube).await?;
    let account = aws.account_id().await?;

    let mut checks = secret_checks(&desired, &observed);
    checks.push(attached_check("user-policies", &desired.user, &desired.user_policies,
        observed.user.as_ref().map(|_| &observed.user_policies)));
    checks.push(trust_check(&desired, &observed));
    checks.push(attached_check("role-policies", &desired.role, &desired.role_policies,
        observed.role.as_ref().map(|_| &observed.role_policies)));
    let endpoint = format!("arn:aws:sagemaker:{}:{account}:endpoint/kfp-iam-verify", aws.region());
    checks.extend(node_role_checks(&observed, &endpoint, aws).await?);

    let calls = Calls { aws: aws.calls(), kubernetes: kube.calls() };
    Ok(VerifyReport { passed: checks.iter().all(|c| c.passed), checks, calls })
}

fn secret_checks(desired: &Desired, observed: &Observed) -> Vec<Check> {
    let name = format!("{}/{}", desired.secret_namespace, desired.secret_name);
    let present = match &observed.secret {
        None => Err((format!("Secret `{name}` does not exist"), APPLY.into())),
        Some(secret) if key_in_secret(secret).is_none() => Err((
            "the Secret lacks `AWS_ACCESS_KEY_ID` or `AWS_SECRET_ACCESS_KEY`".into(),
            APPLY.into(),
        )),
        Some(_) => Ok("holds `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`".into()),
    };
    let user = &desired.user;
    let works = match &observed.key_health {
        KeyHealth::Working { access_key_id } => {
            Ok(format!("STS accepts `{access_key_id}` as user `{user}`"))
        }
        KeyHealth::Missing => Err(("no key to test".into(), APPLY.into())),
        KeyHealth::NotTheUsers { access_key_id } => Err((
            format!("`{access_key_id}` is not an access key of user `{user}`"),
            format!("{APPLY}; it creates a new key and stores it in the Secret"),
        )),
        KeyHealth::Inactive { access_key_id } => Err((
            format!("access key `{access_key_id}` is inactive"),
            format!("{APPLY}; it replaces the key"),
        )),
        KeyHealth::Rejected { access_key_id, reason } => Err((
            format!("STS rejected `{access_key_id}`: {reason}"),
            format!("{APPLY}; it replaces the key"),
        )),
    };
    vec![check("secret-present", &name, present), check("secret-key-works", &name, works)]
}

fn attached_check(
    name: &str,
    resource: &str,
    wanted: &[String],
    attached: Option<&Vec<String>>,
) -> Check {
    let result = match attached {
        None => Err((format!("`{resource}` does not exist"), APPLY.into())),
        Some(attached) => {
            let missing: Vec<&str> =
                wanted.iter().filter(|w| !attached.contains(w)).map(String::as_str).collect();
            match missing.is_empty() {
                true => Ok(format!("{} policies attached", wanted.len())),
                false => Err((format!("missing `{}`", missing.join("`, `")), APPLY.into())),
            }
        }
    };
    check(name, resource, result)
}

fn trust_check(desired: &Desired, observed: &Observed) -> Check {
    let role = &desired.role;
    let result = match &observed.role {
        None => Err((format!("role `{role}` does not exist"), APPLY.into())),
        Some(r) => match trust_allows_service(&r.trust, SAGEMAKER_SERVICE) {
            Ok(true) => Ok(format!("`{SAGEMAKER_SERVICE}` may assume the role")),
            Ok(false) => Err((
                format!("the trust policy does not let `{SAGEMAKER_SERVICE}` assume the role"),
                format!("{APPLY}; statements written by others are kept"),
            )),
            Err(e) => Err((format!("the trust policy cannot be evaluated: {e}"), APPLY.into())),
        },
    };
    check("role-trust", role, result)
}

/// Evaluates each node role's identity policies, managed and inline, for InvokeEndpoint.
async fn node_role_checks(
    observed: &Observed,
    endpoint: &str,
    aws: &impl Aws,
) -> Result<Vec<Check>, PlanError> {
    let documents = try_join_all(observed.node_roles.iter().filter(|n| n.exists).map(|node| {
        async move {
            let (inline_names, managed) = futures::future::try_join(
                aws.list_role_inline_policies(&node.name),
                aws.list_role_policies(&node.name),
            )
            .await?;
            let inline = try_join_all(inline_names.iter().map(|p| async move {
                let doc = aws.get_role_inline_policy(&node.name, p).await?;
                Ok::<_, PlanError>(doc.map(|d| (p.clone(), d)))
            }));
            let managed = try_join_all(managed.iter().map(|arn| async move {
                let doc = aws.get_managed_policy_document(arn).await?;
                Ok::<_, PlanError>(doc.map(|d| (arn.clone(), d)))
            }));
            let (inline, managed) = futures::future::try_join(inline, managed).await?;
            let docs: BTreeMap<String, String> = inline.into_iter().chain(managed).flatten().collect();
            Ok::<_, PlanError>((node.name.clone(), docs))
        }
    }))
    .await?;
    let documents: BTreeMap<String, BTreeMap<String, String>> = documents.into_iter().collect();

    let action = "sagemaker:InvokeEndpoint";
    Ok(observed.node_roles.iter().map(|node| {
        let result = match documents.get(&node.name) {
            None => Err((format!("role `{}` does not exist", node.name),
                "fix `spec.nodeRoles` or the cluster's nodegroups".into())),
            Some(docs) => match identity_allows(docs, action, endpoint) {
                Ok(Some(by)) => Ok(format!("`{action}` allowed by `{by}`")),
                Ok(None) => Err((format!("no policy of the role allows `{action}`"),
                    APPLY.into())),
                Err(e) => Err((format!("the role's policies cannot be evaluated: {e}"),
                    APPLY.into())),
            },
        };
        check("node-role-invoke-endpoint", &node.name, result)
    }).collect())
}
