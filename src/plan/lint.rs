//! Every document apply would write is linted first; an error is a blocker, so nothing is
//! written.

use serde_json::Value;

use super::desired::{Desired, EXECUTION_POLICY_NAME};
use super::{Blocker, ResourceKind};
use crate::policy::PolicyDocument;
use crate::policy::lint::{DocumentKind, Severity, codes, lint};

/// Blockers for lint errors in the documents of `desired`.
pub fn lint_desired(desired: &Desired) -> Vec<Blocker> {
    let mut documents: Vec<(ResourceKind, String, Value, DocumentKind)> = vec![(
        ResourceKind::ExecutionRole,
        format!("{} trust policy", desired.role),
        Desired::fresh_trust(desired.trust_statements.clone()),
        DocumentKind::Trust,
    )];
    if let Some(doc) = &desired.execution_policy {
        let name = format!("{}/{EXECUTION_POLICY_NAME}", desired.role);
        documents.push((
            ResourceKind::ExecutionRole,
            name,
            doc.clone(),
            DocumentKind::Inline,
        ));
    }
    if let Some(policy) = &desired.pipeline_policy {
        documents.push((
            ResourceKind::PipelinePolicy,
            policy.name.clone(),
            policy.document.clone(),
            DocumentKind::ManagedPolicy,
        ));
    }
    // One pipeline role stands for all: their trusts differ only in subjects, whose size
    // the diff checks on the merged document.
    if let Some(role) = desired.pipeline_roles.first() {
        let trust = Desired::fresh_trust(desired.pipeline_trust_statements(role));
        documents.push((
            ResourceKind::PipelineRole,
            format!("{} trust policy", role.name),
            trust,
            DocumentKind::Trust,
        ));
    }
    if !desired.node_roles.is_empty() {
        documents.push((
            ResourceKind::NodeRole,
            desired.node_policy_name.clone(),
            desired.node_policy.clone(),
            DocumentKind::Inline,
        ));
    }

    let mut blockers = Vec::new();
    for (kind, name, document, doc_kind) in documents {
        let parsed = match PolicyDocument::from_value(&document) {
            Ok(parsed) => parsed,
            Err(e) => {
                blockers.push(Blocker {
                    kind,
                    name: name.clone(),
                    reason: format!("policy `{name}` is not a valid document: {e}"),
                });
                continue;
            }
        };
        let errors = lint(&parsed, doc_kind).into_iter().filter(|f| {
            f.severity == Severity::Error
                && !(doc_kind == DocumentKind::Trust && f.code == codes::SIZE_QUOTA)
        });
        for finding in errors {
            blockers.push(Blocker {
                kind,
                name: name.clone(),
                reason: format!("policy `{name}` fails lint: {finding}"),
            });
        }
    }
    blockers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Resolved, Target};
    use crate::spec::{IdentityMode, PermissionMode, Spec};

    fn resolved() -> Resolved {
        Resolved {
            node_roles: vec!["ng".into()],
            targets: vec![Target {
                namespace: "team-a".into(),
                service_account: "default-editor".into(),
            }],
            issuer: Some("https://oidc.eks.us-east-1.amazonaws.com/id/ABC".into()),
            account: "123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn documents_of_every_mode_lint_clean() {
        for mode in [
            IdentityMode::AccessKey,
            IdentityMode::Irsa,
            IdentityMode::PodIdentity,
        ] {
            for permissions in [PermissionMode::FullAccess, PermissionMode::Scoped] {
                let mut spec = Spec::default();
                spec.spec.cluster = Some("c".into());
                spec.spec.identity.mode = mode;
                spec.spec.permissions = permissions;
                spec.spec.buckets = vec!["ml-data".into()];
                let blockers = lint_desired(&Desired::new(&spec, resolved()));
                assert!(
                    blockers.is_empty(),
                    "{mode:?} {permissions:?}: {blockers:?}"
                );
            }
        }
    }

    #[test]
    fn placeholder_in_a_document_blocks_the_apply() {
        let mut desired = Desired::new(&Spec::default(), resolved());
        desired.node_policy["Statement"][0]["Resource"] =
            "arn:aws:sagemaker:REGION:ACCOUNT_ID:endpoint/*".into();
        let blockers = lint_desired(&desired);
        assert!(
            blockers.iter().any(|b| b.reason.contains("placeholder")),
            "{blockers:?}"
        );
    }
}
