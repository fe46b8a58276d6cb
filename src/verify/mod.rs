//! Verify: checks every permission level against the live state and says how to fix what
//! fails.
//!
//! Verify only reads (a TokenRequest stores nothing). Policy checks are decided by kfp-iam's
//! own policy evaluation over the documents AWS holds, not by comparing text, so an
//! equivalent policy written by hand passes. In irsa mode it asks Kubernetes for a real token
//! of each service account in scope and evaluates the role's trust policy against the token's
//! issuer, subject and audience.

mod evaluate;
mod pipeline;
mod token;

use std::collections::BTreeMap;

use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::apply::Calls;
use crate::aws::Aws;
use crate::kube::Kube;
use crate::plan::{
    CONCURRENCY, Desired, EXECUTION_POLICY_NAME, KeyHealth, Observed, PlanError,
    ROLE_ARN_ANNOTATION, STS_AUDIENCE, Target, key_in_secret, observe, resolve, same_document,
};
use crate::spec::{IdentityMode, Spec};

pub use evaluate::{
    EvalFailure, identity_allows, identity_allows_with, trust_allows, trust_allows_service,
};
pub use pipeline::{Identity, identity_documents};
pub use token::{Claims, claims_of};

/// Service principal SageMaker uses to assume the execution role.
pub const SAGEMAKER_SERVICE: &str = "sagemaker.amazonaws.com";
/// Service principal of EKS Pod Identity.
pub const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";

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

type Outcome = Result<String, (String, String)>;

fn check(name: &str, resource: &str, result: Outcome) -> Check {
    let (passed, detail, remedy) = match result {
        Ok(detail) => (true, detail, None),
        Err((detail, remedy)) => (false, detail, Some(remedy)),
    };
    Check {
        name: name.into(),
        resource: resource.into(),
        passed,
        detail,
        remedy,
    }
}

const APPLY: &str = "run `kfp-iam apply` to repair it";

/// Checks the three permission levels the spec describes.
pub async fn verify(
    spec: &Spec,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<VerifyReport, PlanError> {
    // Boxed: the reads are large futures, and callers may run on small test-thread stacks.
    let desired = Desired::new(spec, Box::pin(resolve(spec, aws, kube)).await?);
    let observed = Box::pin(observe(&desired, aws, kube)).await?;

    let mut checks = namespace_checks(&desired, &observed);
    match desired.mode {
        IdentityMode::AccessKey => {
            checks.extend(secret_checks(&desired, &observed));
            checks.extend(key_age_check(&desired, &observed));
            checks.push(attached_check(
                "user-policies",
                &desired.user,
                &desired.user_policies,
                observed.user.as_ref().map(|_| &observed.user_policies),
            ));
        }
        IdentityMode::Irsa => {
            checks.push(provider_check(&desired, &observed));
            checks.extend(pipeline_role_checks(&desired, &observed));
            checks.extend(irsa_checks(&desired, &observed, kube).await?);
        }
        IdentityMode::PodIdentity => {
            checks.extend(pipeline_role_checks(&desired, &observed));
            checks.extend(association_checks(&desired, &observed));
        }
    }
    checks.extend(pipeline::checks(&desired, &observed, aws).await?);
    checks.push(trust_check(&desired, &observed));
    checks.push(execution_policies_check(&desired, &observed));
    let endpoint = format!(
        "arn:{}:sagemaker:{}:{}:endpoint/kfp-iam-verify",
        desired.partition, desired.region, desired.account
    );
    checks.extend(node_role_checks(&observed, &endpoint, aws).await?);

    let calls = Calls {
        aws: aws.calls(),
        kubernetes: kube.calls(),
    };
    Ok(VerifyReport {
        passed: checks.iter().all(|c| c.passed),
        checks,
        calls,
    })
}

/// A namespace in scope that does not exist has no access at all.
fn namespace_checks(desired: &Desired, observed: &Observed) -> Vec<Check> {
    let missing = desired
        .targets
        .iter()
        .filter(|t| !observed.namespaces.contains(&t.namespace));
    missing
        .map(|t| {
            check(
                "namespace-access",
                &t.namespace,
                Err((
                    format!(
                        "namespace `{}` is in scope but does not exist: it has no access",
                        t.namespace
                    ),
                    "create it, or take it out of `spec.namespaces`, then run `kfp-iam apply`"
                        .to_owned(),
                )),
            )
        })
        .collect()
}

fn secret_checks(desired: &Desired, observed: &Observed) -> Vec<Check> {
    let user = &desired.user;
    let mut checks = Vec::new();
    for secret in observed
        .secrets
        .iter()
        .filter(|s| observed.namespaces.contains(&s.namespace))
    {
        let name = format!("{}/{}", secret.namespace, desired.secret_name);
        let present = match &secret.state {
            None => Err((format!("Secret `{name}` does not exist"), APPLY.into())),
            Some(state) if key_in_secret(state).is_none() => Err((
                "the Secret lacks `AWS_ACCESS_KEY_ID` or `AWS_SECRET_ACCESS_KEY`".into(),
                APPLY.into(),
            )),
            Some(_) => Ok("holds `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`".into()),
        };
        let replace = format!("{APPLY}; it replaces the key");
        let works = match &secret.health {
            KeyHealth::Working { access_key_id } => {
                Ok(format!("STS accepts `{access_key_id}` as user `{user}`"))
            }
            KeyHealth::Missing => Err(("no key to test".into(), APPLY.into())),
            KeyHealth::NotTheUsers { access_key_id } => Err((
                format!("`{access_key_id}` is not an access key of user `{user}`"),
                format!("{APPLY}; it stores a working key of the user in the Secret"),
            )),
            KeyHealth::Inactive { access_key_id } => {
                Err((format!("access key `{access_key_id}` is inactive"), replace))
            }
            KeyHealth::Rejected {
                access_key_id,
                reason,
            } => Err((format!("STS rejected `{access_key_id}`: {reason}"), replace)),
        };
        checks.push(check("secret-present", &name, present));
        checks.push(check("secret-key-works", &name, works));
    }
    checks
}

/// The age of the key in use, failing past `spec.rotation.maxAge`.
fn key_age_check(desired: &Desired, observed: &Observed) -> Option<Check> {
    let id = observed.secrets.iter().find_map(|s| match &s.health {
        KeyHealth::Working { access_key_id } => Some(access_key_id),
        _ => None,
    })?;
    let created = observed.keys.iter().find(|k| &k.id == id)?.created?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let age = now.map(|d| d.as_secs() as i64).unwrap_or_default() - created;
    let days = age / 86_400;
    let result = match desired.max_key_age {
        Some(max) if age > max => Err((
            format!("access key `{id}` is {days} days old, older than `spec.rotation.maxAge`"),
            "run `kfp-iam rotate-key` (or `kfp-iam apply`, which rotates it)".into(),
        )),
        Some(max) => Ok(format!(
            "access key `{id}` is {days} days old (rotated after {} days)",
            max / 86_400
        )),
        None => Ok(format!("access key `{id}` is {days} days old")),
    };
    Some(check("key-age", &desired.user, result))
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
            let missing: Vec<&str> = wanted
                .iter()
                .filter(|w| !attached.contains(w))
                .map(String::as_str)
                .collect();
            match missing.is_empty() {
                true => Ok(match wanted.len() {
                    0 => "no managed policy is required".to_owned(),
                    1 => "its managed policy is attached".to_owned(),
                    n => format!("all {n} managed policies are attached"),
                }),
                false => Err((format!("missing `{}`", missing.join("`, `")), APPLY.into())),
            }
        }
    };
    check(name, resource, result)
}

/// The execution role's managed policies and, in scoped mode, its generated inline policy.
fn execution_policies_check(desired: &Desired, observed: &Observed) -> Check {
    let attached = observed.role.as_ref().map(|_| &observed.role_policies);
    let managed = attached_check(
        "role-policies",
        &desired.role,
        &desired.role_policies,
        attached,
    );
    let Some(wanted) = &desired.execution_policy else {
        return managed;
    };
    if !managed.passed {
        return managed;
    }
    let present = observed
        .execution_policy
        .as_deref()
        .map(|d| serde_json::from_str(d).is_ok_and(|doc| same_document(&doc, wanted)));
    let result = match present {
        Some(true) => Ok(format!(
            "{}; inline policy `{EXECUTION_POLICY_NAME}` is as generated",
            managed.detail
        )),
        Some(false) => Err((
            format!("inline policy `{EXECUTION_POLICY_NAME}` differs from the generated one"),
            APPLY.into(),
        )),
        None => Err((
            format!("inline policy `{EXECUTION_POLICY_NAME}` is missing"),
            APPLY.into(),
        )),
    };
    check("role-policies", &desired.role, result)
}

fn trust_check(desired: &Desired, observed: &Observed) -> Check {
    let role = &desired.role;
    check(
        "role-trust",
        role,
        service_trust(
            observed.role.as_ref().map(|r| &r.trust),
            role,
            SAGEMAKER_SERVICE,
        ),
    )
}

fn service_trust(trust: Option<&String>, role: &str, service: &str) -> Outcome {
    match trust {
        None => Err((format!("role `{role}` does not exist"), APPLY.into())),
        Some(trust) => match trust_allows_service(trust, service) {
            Ok(true) => Ok(format!("`{service}` may assume the role")),
            Ok(false) => Err((
                format!("the trust policy does not let `{service}` assume the role"),
                format!("{APPLY}; statements written by others are kept"),
            )),
            Err(e) => Err((
                format!("the trust policy cannot be evaluated: {e}"),
                APPLY.into(),
            )),
        },
    }
}

fn provider_check(desired: &Desired, observed: &Observed) -> Check {
    let issuer = desired.issuer.clone().unwrap_or_default();
    let result = match &observed.provider {
        Some(p) if p.client_ids.iter().any(|c| c == STS_AUDIENCE) => Ok(format!(
            "`{}` trusts the issuer for `{STS_AUDIENCE}`",
            p.arn
        )),
        Some(p) => Err((
            format!("`{}` lacks the client id `{STS_AUDIENCE}`", p.arn),
            "add it with `aws iam add-client-id-to-open-id-connect-provider`".into(),
        )),
        None => Err((
            format!("no IAM OIDC provider exists for the issuer `{issuer}`"),
            format!("{APPLY}; it creates the provider"),
        )),
    };
    check("oidc-provider", &issuer, result)
}

fn pipeline_role_checks(desired: &Desired, observed: &Observed) -> Vec<Check> {
    let mut checks = Vec::new();
    for role in &desired.pipeline_roles {
        let found = observed.pipeline_roles.get(&role.name);
        checks.push(attached_check(
            "pipeline-role-policies",
            &role.name,
            &desired.pipeline_policies,
            found.map(|o| &o.policies),
        ));
        if desired.mode == IdentityMode::PodIdentity {
            let trust = found.map(|o| &o.role.trust);
            checks.push(check(
                "pipeline-role-trust",
                &role.name,
                service_trust(trust, &role.name, POD_IDENTITY_SERVICE),
            ));
        }
    }
    checks
}

fn role_arn_for(desired: &Desired, observed: &Observed, target: &Target) -> Option<String> {
    let role = desired
        .pipeline_roles
        .iter()
        .find(|r| r.targets.contains(target))?;
    Some(
        observed
            .pipeline_roles
            .get(&role.name)
            .map(|o| o.role.arn.clone())
            .unwrap_or_else(|| desired.pipeline_role_arn(&role.name)),
    )
}

/// Per service account in scope: the annotation names the role, and a real token of the
/// account satisfies the role's trust policy.
async fn irsa_checks(
    desired: &Desired,
    observed: &Observed,
    kube: &impl Kube,
) -> Result<Vec<Check>, PlanError> {
    let present = desired
        .targets
        .iter()
        .filter(|t| observed.namespaces.contains(&t.namespace));
    let per_target = stream::iter(present)
        .map(|target| async move {
            let name = format!("{}/{}", target.namespace, target.service_account);
            let arn = role_arn_for(desired, observed, target).unwrap_or_default();
            let key = (target.namespace.clone(), target.service_account.clone());
            let Some(sa) = observed.service_accounts.get(&key) else {
                let missing = Err((
                    format!("service account `{name}` does not exist"),
                    format!("{APPLY}; it creates the account"),
                ));
                return Ok::<_, PlanError>(vec![check("service-account", &name, missing)]);
            };
            let annotation = match sa.annotations.get(ROLE_ARN_ANNOTATION) {
                Some(a) if *a == arn => Ok(format!("annotated with `{arn}`")),
                Some(a) => Err((format!("annotated with `{a}`, not `{arn}`"), APPLY.into())),
                None => Err((
                    format!("no `{ROLE_ARN_ANNOTATION}` annotation"),
                    APPLY.into(),
                )),
            };
            let trust = token_trust(desired, observed, target, &arn, kube).await?;
            Ok(vec![
                check("irsa-annotation", &name, annotation),
                check("irsa-trust", &name, trust),
            ])
        })
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(per_target.into_iter().flatten().collect())
}

async fn token_trust(
    desired: &Desired,
    observed: &Observed,
    target: &Target,
    arn: &str,
    kube: &impl Kube,
) -> Result<Outcome, PlanError> {
    let role = desired
        .pipeline_roles
        .iter()
        .find(|r| r.targets.contains(target));
    let trust = role
        .and_then(|r| observed.pipeline_roles.get(&r.name))
        .map(|o| &o.role.trust);
    let Some(trust) = trust else {
        return Ok(Err((format!("role `{arn}` does not exist"), APPLY.into())));
    };
    let token = kube.request_token(&target.namespace, &target.service_account, STS_AUDIENCE);
    let claims = match token.await {
        Ok(token) => claims_of(token.expose()),
        Err(e) => return Ok(Err((format!("no token: {e}"), APPLY.into()))),
    };
    let claims = match claims {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err((
                format!("the token cannot be read: {e}"),
                APPLY.into(),
            )));
        }
    };
    let issuer = claims.iss.trim_start_matches("https://");
    if Some(issuer) != desired.issuer.as_deref() {
        return Ok(Err((
            format!("the token's issuer `{}` is not the cluster's", claims.iss),
            "check the kube-apiserver's --service-account-issuer".into(),
        )));
    }
    let provider = observed
        .provider
        .as_ref()
        .map(|p| p.arn.clone())
        .or_else(|| desired.provider_arn())
        .unwrap_or_default();
    let aud = claims
        .aud
        .iter()
        .find(|a| *a == STS_AUDIENCE)
        .cloned()
        .unwrap_or_default();
    Ok(
        match trust_allows(trust, &provider, issuer, &claims.sub, &aud) {
            Ok(true) => Ok(format!("a token for `{}` may assume `{arn}`", claims.sub)),
            Ok(false) => Err((
                format!(
                    "the trust policy of `{arn}` does not admit `{}`",
                    claims.sub
                ),
                format!("{APPLY}; statements written by others are kept"),
            )),
            Err(e) => Err((
                format!("the trust policy cannot be evaluated: {e}"),
                APPLY.into(),
            )),
        },
    )
}

fn association_checks(desired: &Desired, observed: &Observed) -> Vec<Check> {
    let present = desired
        .targets
        .iter()
        .filter(|t| observed.namespaces.contains(&t.namespace));
    present
        .map(|target| {
            let name = format!("{}/{}", target.namespace, target.service_account);
            let arn = role_arn_for(desired, observed, target).unwrap_or_default();
            let found = observed.associations.iter().find(|a| {
                a.namespace == target.namespace && a.service_account == target.service_account
            });
            let result = match found {
                Some(a) if a.role_arn == arn => Ok(format!("associated with `{arn}`")),
                Some(a) => Err((
                    format!("associated with `{}`, not `{arn}`", a.role_arn),
                    APPLY.into(),
                )),
                None => Err(("no pod identity association".into(), APPLY.into())),
            };
            check("pod-identity-association", &name, result)
        })
        .collect()
}

/// Evaluates each node role's identity policies, managed and inline, for InvokeEndpoint.
async fn node_role_checks(
    observed: &Observed,
    endpoint: &str,
    aws: &impl Aws,
) -> Result<Vec<Check>, PlanError> {
    let documents = try_join_all(observed.node_roles.iter().filter(|n| n.exists).map(
        |node| async move {
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
            let docs: BTreeMap<String, String> =
                inline.into_iter().chain(managed).flatten().collect();
            Ok::<_, PlanError>((node.name.clone(), docs))
        },
    ))
    .await?;
    let documents: BTreeMap<String, BTreeMap<String, String>> = documents.into_iter().collect();

    let action = "sagemaker:InvokeEndpoint";
    Ok(observed
        .node_roles
        .iter()
        .map(|node| {
            let result = match documents.get(&node.name) {
                None => Err((
                    format!("role `{}` does not exist", node.name),
                    "fix `spec.nodeRoles` or the cluster's nodegroups".into(),
                )),
                Some(docs) => match identity_allows(docs, action, endpoint) {
                    Ok(Some(by)) => Ok(format!("`{action}` allowed by `{by}`")),
                    Ok(None) => Err((
                        format!("no policy of the role allows `{action}`"),
                        APPLY.into(),
                    )),
                    Err(e) => Err((
                        format!("the role's policies cannot be evaluated: {e}"),
                        APPLY.into(),
                    )),
                },
            };
            check("node-role-invoke-endpoint", &node.name, result)
        })
        .collect())
}
