//! Desired state: what the spec asks for, with node roles and namespaces resolved and
//! documents built.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::policy::generate::{self, Component, Scope};
use crate::spec::{
    IdentityMode, MANAGED_BY_KEY, MANAGED_BY_VALUE, PermissionMode, RoleLayout, S3_FULL_ACCESS,
    SAGEMAKER_FULL_ACCESS, Spec,
};

/// Data keys of the access-key Secret, as the SageMaker components read them.
pub const ACCESS_KEY_ID_KEY: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_ACCESS_KEY_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// Sid that marks the trust statement kfp-iam writes; other statements are left alone.
pub const TRUST_SID: &str = "KfpIamSageMakerAssumeRole";
/// Sid of the statement kfp-iam writes in node role inline policies.
pub const INVOKE_SID: &str = "KfpIamInvokeEndpoint";
/// Sids of the pipeline role's trust statements, per mode.
pub const IRSA_SID: &str = "KfpIamServiceAccounts";
pub const IRSA_WILDCARD_SID: &str = "KfpIamServiceAccountPatterns";
pub const POD_IDENTITY_SID: &str = "KfpIamPodIdentity";
/// Sid of the execution role's trust statement for RoboMaker, in scoped mode with RoboMaker.
pub const ROBOMAKER_TRUST_SID: &str = "KfpIamRoboMakerAssumeRole";
/// Name of the execution role's inline policy in scoped mode.
pub const EXECUTION_POLICY_NAME: &str = "kfp-iam-execution";

/// Annotation IRSA reads on a service account.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// Label on service accounts kfp-iam annotated; its value is the spec's name.
pub const ACCESS_LABEL: &str = "kfp-iam.io/access";
/// Audience of web-identity tokens for STS.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// A namespace in scope and the service account its pipelines run as.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub namespace: String,
    pub service_account: String,
}

impl Target {
    /// The `sub` claim of this service account's tokens.
    pub fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }
}

/// A role that pipeline pods assume (irsa and pod-identity modes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRole {
    pub name: String,
    pub targets: Vec<Target>,
}

/// A customer managed policy kfp-iam owns.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub document: Value,
}

/// Everything kfp-iam should make true.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub spec_name: String,
    pub tags: BTreeMap<String, String>,
    pub mode: IdentityMode,
    pub cluster: Option<String>,
    pub region: String,
    pub partition: String,
    pub account: String,
    /// Namespaces in scope, sorted.
    pub targets: Vec<Target>,
    /// Whether the scope was listed by name (a missing namespace is then an error).
    pub targets_named: bool,

    // access-key mode
    pub user: String,
    pub user_policies: Vec<String>,
    pub secret_name: String,
    /// Replace a working key older than this many seconds.
    pub max_key_age: Option<i64>,

    // irsa and pod-identity modes
    pub pipeline_roles: Vec<PipelineRole>,
    pub pipeline_policies: Vec<String>,
    /// IAM path of pipeline roles: `/kfp-iam/SPEC/`.
    pub role_path: String,
    /// The cluster's OIDC issuer without `https://` (irsa).
    pub issuer: Option<String>,
    pub create_provider: bool,

    /// The generated pipeline permissions (scoped mode), attached to the user or roles.
    pub pipeline_policy: Option<ManagedPolicy>,
    /// Where that policy lives, in every mode, so a spec leaving scoped mode removes it.
    pub pipeline_policy_arn: String,
    pub permissions: PermissionMode,
    /// Components in scope (all of them unless the spec narrows it).
    pub components: Vec<Component>,
    pub buckets: Vec<String>,
    pub endpoint_prefixes: Vec<String>,

    // execution role and node roles
    pub role: String,
    pub role_policies: Vec<String>,
    /// kfp-iam's own trust statements; merged into whatever else the trust policy holds.
    pub trust_statements: Vec<Value>,
    /// The generated inline policy of the execution role (scoped mode).
    pub execution_policy: Option<Value>,
    pub node_roles: Vec<String>,
    pub node_policy_name: String,
    pub node_policy: Value,
}

/// What the cloud told the planner before desired state could be built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub node_roles: Vec<String>,
    pub targets: Vec<Target>,
    pub issuer: Option<String>,
    pub account: String,
    pub region: String,
}

/// `aws`, `aws-cn` or `aws-us-gov`, from the region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The service account pipelines use in `namespace` unless the spec names one.
pub fn default_service_account(namespace: &str) -> &'static str {
    if namespace == "kubeflow" {
        "pipeline-runner"
    } else {
        "default-editor"
    }
}

impl Desired {
    /// Builds the desired state from a validated spec and what resolution found.
    pub fn new(spec: &Spec, resolved: Resolved) -> Self {
        let s = &spec.spec;
        let mut tags = s.tags.clone();
        tags.insert(MANAGED_BY_KEY.into(), MANAGED_BY_VALUE.into());
        let mode = s.identity.mode;
        let pipeline_roles = match (mode, s.identity.roles) {
            (IdentityMode::AccessKey, _) => Vec::new(),
            (_, RoleLayout::Shared) => vec![PipelineRole {
                name: s.identity.role_name.clone(),
                targets: resolved.targets.clone(),
            }],
            (_, RoleLayout::PerNamespace) => resolved
                .targets
                .iter()
                .map(|t| PipelineRole {
                    name: format!("{}-{}", s.identity.role_name, t.namespace),
                    targets: vec![t.clone()],
                })
                .collect(),
        };
        let partition = partition_of(&resolved.region).to_owned();
        let role_path = format!("/kfp-iam/{}/", spec.metadata.name);
        // The classic managed policies do not cover RoboMaker, so full access assumes the
        // SageMaker components unless the spec lists components itself.
        let components = s.components.clone().unwrap_or_else(|| {
            let all = Component::ALL.into_iter();
            match s.permissions {
                PermissionMode::Scoped => all.collect(),
                PermissionMode::FullAccess => all.filter(|c| *c != Component::RoboMaker).collect(),
            }
        });
        let scope = Scope {
            partition: partition.clone(),
            account: resolved.account.clone(),
            region: resolved.region.clone(),
            execution_role_arn: format!(
                "arn:{partition}:iam::{}:role/{}",
                resolved.account, s.execution_role.name
            ),
            components: components.clone(),
            buckets: s.buckets.clone(),
            endpoint_prefixes: s.endpoint_prefixes.clone(),
        };
        let scoped = s.permissions == PermissionMode::Scoped;
        let policy_name = format!("kfp-iam-{}-pipeline", spec.metadata.name);
        let pipeline_policy_arn = format!(
            "arn:{partition}:iam::{}:policy{role_path}{policy_name}",
            resolved.account
        );
        let pipeline_policy = scoped.then(|| {
            let name = policy_name.clone();
            let arn = pipeline_policy_arn.clone();
            let document = generate::pipeline_policy(&scope).to_value();
            ManagedPolicy {
                name,
                path: role_path.clone(),
                arn,
                document,
            }
        });
        // In scoped mode the classic full-access policies give way to the generated ones;
        // other managed policies the spec lists are still attached.
        let narrowed = |listed: &[String]| -> Vec<String> {
            let classic = [SAGEMAKER_FULL_ACCESS, S3_FULL_ACCESS];
            let kept = listed
                .iter()
                .filter(|p| !scoped || !classic.contains(&p.as_str()));
            kept.cloned()
                .chain(pipeline_policy.iter().map(|p| p.arn.clone()))
                .collect()
        };
        let mut trust_statements = vec![json!({
            "Sid": TRUST_SID,
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        })];
        if scoped && components.contains(&Component::RoboMaker) {
            trust_statements.push(json!({
                "Sid": ROBOMAKER_TRUST_SID,
                "Effect": "Allow",
                "Principal": {"Service": "robomaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }));
        }
        let node_policy = match scoped {
            true => generate::node_role_policy(&scope).to_value(),
            false => json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": INVOKE_SID,
                    "Effect": "Allow",
                    "Action": "sagemaker:InvokeEndpoint",
                    "Resource": "*",
                }],
            }),
        };
        Self {
            spec_name: spec.metadata.name.clone(),
            tags,
            mode,
            cluster: s.cluster.clone(),
            partition,
            region: resolved.region,
            account: resolved.account,
            targets: resolved.targets,
            targets_named: matches!(
                s.namespaces,
                None | Some(crate::spec::NamespaceScope::Names(_))
            ),
            user: s.user.name.clone(),
            user_policies: narrowed(&s.user.policies),
            secret_name: s.secret.name.clone(),
            max_key_age: s.rotation.max_age_seconds(),
            pipeline_roles,
            pipeline_policies: narrowed(&s.identity.policies),
            role_path,
            issuer: resolved
                .issuer
                .filter(|_| mode == IdentityMode::Irsa)
                .map(|i| i.trim_start_matches("https://").to_owned()),
            create_provider: s.identity.create_oidc_provider,
            permissions: s.permissions,
            components,
            buckets: s.buckets.clone(),
            endpoint_prefixes: s.endpoint_prefixes.clone(),
            role: s.execution_role.name.clone(),
            role_policies: s
                .execution_role
                .policies
                .iter()
                .filter(|p| {
                    !scoped || ![SAGEMAKER_FULL_ACCESS, S3_FULL_ACCESS].contains(&p.as_str())
                })
                .cloned()
                .collect(),
            trust_statements,
            execution_policy: scoped.then(|| generate::execution_role_policy(&scope).to_value()),
            pipeline_policy,
            pipeline_policy_arn,
            node_roles: resolved.node_roles,
            node_policy_name: s.node_policy.name.clone(),
            node_policy,
        }
    }

    /// The trust statements' Sids kfp-iam owns on the execution role.
    pub fn execution_trust_sids() -> &'static [&'static str] {
        &[TRUST_SID, ROBOMAKER_TRUST_SID]
    }

    /// A trust policy holding only `statements`, for a role kfp-iam creates.
    pub fn fresh_trust(statements: Vec<Value>) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    /// ARN of the IAM OIDC provider for the cluster's issuer.
    pub fn provider_arn(&self) -> Option<String> {
        let issuer = self.issuer.as_ref()?;
        Some(format!(
            "arn:{}:iam::{}:oidc-provider/{issuer}",
            self.partition, self.account
        ))
    }

    /// ARN a pipeline role has once created under [`Desired::role_path`].
    pub fn pipeline_role_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:role{}{name}",
            self.partition, self.account, self.role_path
        )
    }

    /// kfp-iam's trust statements for a pipeline role: web identity for each service account
    /// (irsa), or the pod identity service (pod-identity).
    pub fn pipeline_trust_statements(&self, role: &PipelineRole) -> Vec<Value> {
        if self.mode == IdentityMode::PodIdentity {
            return vec![json!({
                "Sid": POD_IDENTITY_SID,
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            })];
        }
        let (Some(issuer), Some(provider)) = (&self.issuer, self.provider_arn()) else {
            return Vec::new();
        };
        let is_pattern = |s: &String| s.contains('*') || s.contains('?');
        let subjects: Vec<String> = role.targets.iter().map(Target::subject).collect();
        let (patterns, exact): (Vec<String>, Vec<String>) =
            subjects.into_iter().partition(is_pattern);
        let statement = |sid: &str, operator: &str, subjects: Vec<String>| {
            let sub = if subjects.len() == 1 {
                json!(subjects[0])
            } else {
                json!(subjects)
            };
            let mut condition = json!({
                "StringEquals": {format!("{issuer}:aud"): STS_AUDIENCE},
            });
            condition[operator][format!("{issuer}:sub")] = sub;
            json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            })
        };
        let mut out = Vec::new();
        if !exact.is_empty() {
            out.push(statement(IRSA_SID, "StringEquals", exact));
        }
        if !patterns.is_empty() {
            out.push(statement(IRSA_WILDCARD_SID, "StringLike", patterns));
        }
        out
    }

    /// The Sids kfp-iam owns in a pipeline role's trust policy.
    pub fn pipeline_trust_sids() -> &'static [&'static str] {
        &[IRSA_SID, IRSA_WILDCARD_SID, POD_IDENTITY_SID]
    }
}
