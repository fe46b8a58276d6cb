//! Desired state: what the spec asks for, with node roles resolved and documents built.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::spec::{MANAGED_BY_KEY, MANAGED_BY_VALUE, Spec};

/// Data keys of the access-key Secret, as the SageMaker components read them.
pub const ACCESS_KEY_ID_KEY: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_ACCESS_KEY_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// Sid that marks the trust statement kfp-iam writes; other statements are left alone.
pub const TRUST_SID: &str = "KfpIamSageMakerAssumeRole";
/// Sid of the statement kfp-iam writes in node role inline policies.
pub const INVOKE_SID: &str = "KfpIamInvokeEndpoint";

/// Everything kfp-iam should make true.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub tags: BTreeMap<String, String>,
    pub user: String,
    pub user_policies: Vec<String>,
    pub secret_namespace: String,
    pub secret_name: String,
    pub role: String,
    pub role_policies: Vec<String>,
    /// kfp-iam's own trust statement; merged into whatever else the trust policy holds.
    pub trust_statement: Value,
    pub node_roles: Vec<String>,
    pub node_policy_name: String,
    pub node_policy: Value,
}

impl Desired {
    /// Builds the desired state from a validated spec and the node roles to grant.
    pub fn new(spec: &Spec, node_roles: Vec<String>) -> Self {
        let s = &spec.spec;
        let mut tags = s.tags.clone();
        tags.insert(MANAGED_BY_KEY.into(), MANAGED_BY_VALUE.into());
        Self {
            tags,
            user: s.user.name.clone(),
            user_policies: s.user.policies.clone(),
            secret_namespace: s.secret.namespace.clone(),
            secret_name: s.secret.name.clone(),
            role: s.execution_role.name.clone(),
            role_policies: s.execution_role.policies.clone(),
            trust_statement: json!({
                "Sid": TRUST_SID,
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }),
            node_roles,
            node_policy_name: s.node_policy.name.clone(),
            node_policy: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": INVOKE_SID,
                    "Effect": "Allow",
                    "Action": "sagemaker:InvokeEndpoint",
                    "Resource": "*",
                }],
            }),
        }
    }

    /// A trust policy holding only kfp-iam's statement, for a role it creates.
    pub fn fresh_trust(&self) -> Value {
        json!({"Version": "2012-10-17", "Statement": [self.trust_statement.clone()]})
    }
}
