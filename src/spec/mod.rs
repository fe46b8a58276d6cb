//! The user's declaration: the `SageMakerAccess` document, its defaults and its validation.
//!
//! A spec is read from YAML, filled with the classic setup's defaults, and validated as a whole
//! before anything talks to AWS or Kubernetes. Every later step works from a [`Spec`] that has
//! passed [`Spec::validate`].

mod rules;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use rules::{Violation, validate};

/// `apiVersion` every spec carries.
pub const API_VERSION: &str = "kfp-iam.io/v1alpha1";
/// `kind` every spec carries.
pub const KIND: &str = "SageMakerAccess";

/// Tag (IAM) and label (Kubernetes) that marks what kfp-iam created and may change.
pub const MANAGED_BY_KEY: &str = "app.kubernetes.io/managed-by";
/// Prefix of the tags and labels kfp-iam manages beside the ownership mark; no spec may set
/// one, lest apply and the spec undo each other on every run.
pub const RESERVED_TAG_PREFIX: &str = "kfp-iam.io/";
/// Value of [`MANAGED_BY_KEY`].
pub const MANAGED_BY_VALUE: &str = "kfp-iam";

pub const SAGEMAKER_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess";
pub const S3_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonS3FullAccess";

/// Errors reading a spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("spec `{path}` is not a valid SageMakerAccess document: {message}")]
    Parse { path: String, message: String },
    #[error("spec is invalid:\n{}", render_violations(.0))]
    Invalid(Vec<Violation>),
}

fn render_violations(violations: &[Violation]) -> String {
    let lines: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
    lines.join("\n")
}

/// A whole `SageMakerAccess` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: AccessSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
}

/// What access to grant, and to whom.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessSpec {
    /// AWS region; when absent, the AWS configuration chain decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// EKS cluster whose managed nodegroups' roles receive `sagemaker:InvokeEndpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Node role names; when present, no discovery happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_roles: Option<Vec<String>>,
    /// Extra tags on every IAM resource kfp-iam creates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub user: UserSpec,
    #[serde(default)]
    pub secret: SecretSpec,
    #[serde(default)]
    pub execution_role: RoleSpec,
    #[serde(default)]
    pub node_policy: NodePolicySpec,
    /// How pipeline pods get AWS credentials.
    #[serde(default)]
    pub identity: IdentitySpec,
    /// `full-access` (the classic managed policies) or `scoped` (least privilege generated
    /// for `components` and `buckets`).
    #[serde(default)]
    pub permissions: PermissionMode,
    /// The Kubeflow SageMaker components pipelines use (scoped mode); default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<crate::policy::generate::Component>>,
    /// The S3 buckets pipelines and SageMaker jobs use (scoped mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    /// Endpoint name prefixes nodes may invoke and pipelines may deploy (scoped mode);
    /// default: every endpoint of the account and region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint_prefixes: Vec<String>,
    /// When to replace the access key.
    #[serde(default, skip_serializing_if = "RotationSpec::is_empty")]
    pub rotation: RotationSpec,
    /// Namespaces whose pipelines get access; without it, the Secret's namespace alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NamespaceScope>,
}

/// How much the identities may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionMode {
    /// AmazonSageMakerFullAccess and AmazonS3FullAccess, as the classic setup.
    #[default]
    FullAccess,
    /// Only what the chosen components call, on this account's and region's resources and
    /// the named buckets.
    Scoped,
}

/// Key rotation policy (access-key mode).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationSpec {
    /// Oldest age of a key before apply replaces it: `90d`, `12h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
}

impl RotationSpec {
    fn is_empty(&self) -> bool {
        self.max_age.is_none()
    }

    /// `max_age` in seconds, when set and valid.
    pub fn max_age_seconds(&self) -> Option<i64> {
        parse_age(self.max_age.as_deref()?)
    }
}

/// `<n>d` or `<n>h` in seconds.
pub(crate) fn parse_age(text: &str) -> Option<i64> {
    let unit = match text.chars().last()? {
        'd' => 86_400,
        'h' => 3_600,
        _ => return None,
    };
    let n: i64 = text[..text.len() - 1].parse().ok()?;
    (n > 0).then_some(n * unit)
}

/// How pipeline pods get AWS credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityMode {
    /// An IAM user's access key in a Secret (the classic setup).
    #[default]
    AccessKey,
    /// IAM roles for service accounts: a web-identity trust on the cluster's OIDC issuer.
    Irsa,
    /// EKS Pod Identity: a role trusted by `pods.eks.amazonaws.com` and an association per
    /// service account.
    PodIdentity,
}

/// One role for every namespace in scope, or one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleLayout {
    #[default]
    Shared,
    PerNamespace,
}

/// The pipeline identity in `irsa` and `pod-identity` modes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentitySpec {
    #[serde(default)]
    pub mode: IdentityMode,
    /// Service account in every namespace in scope; by default `default-editor`, and
    /// `pipeline-runner` in `kubeflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    #[serde(default)]
    pub roles: RoleLayout,
    /// Name of the pipeline role; with per-namespace roles, the prefix `NAME-NAMESPACE`.
    #[serde(default = "default_pipeline_role")]
    pub role_name: String,
    /// Managed policies of the pipeline role.
    #[serde(default = "default_user_policies")]
    pub policies: Vec<String>,
    /// Create the IAM OIDC provider for the cluster's issuer when it is missing (irsa).
    #[serde(default = "default_true")]
    pub create_oidc_provider: bool,
}

impl Default for IdentitySpec {
    fn default() -> Self {
        Self {
            mode: IdentityMode::default(),
            service_account: None,
            roles: RoleLayout::default(),
            role_name: default_pipeline_role(),
            policies: default_user_policies(),
            create_oidc_provider: true,
        }
    }
}

/// Which namespaces' pipelines get access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "expected a list of namespace names, `{selector: LABELS}` or `{profiles: all}`"
)]
pub enum NamespaceScope {
    /// These namespaces.
    Names(Vec<String>),
    /// Every namespace matching a label selector.
    Selector { selector: String },
    /// Every Kubeflow Profile's namespace (`profiles: all`).
    Profiles { profiles: AllProfiles },
}

/// The only value `profiles:` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllProfiles {
    All,
}

/// The IAM user whose access key the pipeline pods use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    #[serde(default = "default_user_name")]
    pub name: String,
    #[serde(default = "default_user_policies")]
    pub policies: Vec<String>,
}

/// The Kubernetes Secret that carries the user's access key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSpec {
    #[serde(default = "default_secret_name")]
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

/// The role SageMaker assumes to run jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    #[serde(default = "default_role_name")]
    pub name: String,
    #[serde(default = "default_role_policies")]
    pub policies: Vec<String>,
}

/// The inline policy written on each node role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePolicySpec {
    #[serde(default = "default_node_policy_name")]
    pub name: String,
}

fn default_user_name() -> String {
    "kubeflow-sagemaker-user".into()
}
fn default_user_policies() -> Vec<String> {
    vec![SAGEMAKER_FULL_ACCESS.into()]
}
fn default_secret_name() -> String {
    "aws-secret".into()
}
fn default_namespace() -> String {
    "kubeflow".into()
}
fn default_role_name() -> String {
    "sagemaker-kfp-role".into()
}
fn default_role_policies() -> Vec<String> {
    vec![SAGEMAKER_FULL_ACCESS.into(), S3_FULL_ACCESS.into()]
}
fn default_pipeline_role() -> String {
    "kfp-pipelines".into()
}
fn default_true() -> bool {
    true
}
fn default_node_policy_name() -> String {
    "kfp-iam-sagemaker-invoke-endpoint".into()
}

impl Default for UserSpec {
    fn default() -> Self {
        Self {
            name: default_user_name(),
            policies: default_user_policies(),
        }
    }
}
impl Default for SecretSpec {
    fn default() -> Self {
        Self {
            name: default_secret_name(),
            namespace: default_namespace(),
        }
    }
}
impl Default for RoleSpec {
    fn default() -> Self {
        Self {
            name: default_role_name(),
            policies: default_role_policies(),
        }
    }
}
impl Default for NodePolicySpec {
    fn default() -> Self {
        Self {
            name: default_node_policy_name(),
        }
    }
}

impl Default for Spec {
    /// The classic setup: one user with an access key in `kubeflow/aws-secret`, the
    /// `sagemaker-kfp-role` execution role, and `sagemaker:InvokeEndpoint` on the node roles.
    fn default() -> Self {
        Self {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: Metadata {
                name: "kubeflow-sagemaker".into(),
            },
            spec: AccessSpec::default(),
        }
    }
}

impl Spec {
    /// Parses a YAML document; `origin` names it in errors (a path, or `-` for stdin).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, SpecError> {
        // A closing `---`, as manifests often end, opens an empty document: not a second spec.
        let text = match text.trim_end().strip_suffix("---") {
            Some(before) if before.is_empty() || before.ends_with('\n') => before,
            _ => text,
        };
        // The YAML parser knows the line, the path tracker the field.
        let mut field = None;
        let parsed = serde_saphyr::with_deserializer_from_str(text, |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                // An unknown last segment (`?`, as for a duplicated key) names the parent.
                let path = e.path().to_string();
                let path = path.trim_end_matches('?').trim_end_matches('.');
                field = Some(path.to_owned()).filter(|p| !p.is_empty());
                e.into_inner()
            })
        });
        parsed.map_err(|e| {
            // The plain message already carries line and column; the source snippet that
            // the parser can add would repeat it under a made-up file name.
            let user = serde_saphyr::UserMessageFormatter;
            let message = e.without_snippet().render_with_formatter(&user);
            let message = message.trim_start_matches("error: ");
            let message = match &field {
                Some(field) => format!("{field}: {message}"),
                None => message.to_owned(),
            };
            SpecError::Parse {
                path: origin.into(),
                message,
            }
        })
    }

    /// Reads a spec from a file, or from standard input when `path` is `-`.
    pub fn load(path: &str) -> Result<Self, SpecError> {
        let read = |e| SpecError::Read {
            path: path.into(),
            source: e,
        };
        let text = if path == "-" {
            std::io::read_to_string(std::io::stdin()).map_err(read)?
        } else {
            std::fs::read_to_string(path).map_err(read)?
        };
        Self::from_yaml(&text, path)
    }

    /// Serializes the spec back to YAML, the form `kfp-iam spec default` prints.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_default()
    }

    /// Checks every field against AWS's and Kubernetes' rules, reporting all violations.
    pub fn validate(&self) -> Result<(), SpecError> {
        let violations = validate(self);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SpecError::Invalid(violations))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_is_the_classic_setup() {
        let spec = Spec::default();
        assert_eq!(spec.spec.user.name, "kubeflow-sagemaker-user");
        assert_eq!(spec.spec.user.policies, vec![SAGEMAKER_FULL_ACCESS]);
        assert_eq!(spec.spec.secret.name, "aws-secret");
        assert_eq!(spec.spec.secret.namespace, "kubeflow");
        assert_eq!(spec.spec.execution_role.name, "sagemaker-kfp-role");
        assert_eq!(
            spec.spec.execution_role.policies,
            vec![SAGEMAKER_FULL_ACCESS, S3_FULL_ACCESS]
        );
        // Its node roles come from the cluster the user names (`--cluster`).
        let mut spec = spec;
        spec.spec.cluster = Some("prod".into());
        assert!(spec.validate().is_ok());
    }

    #[test]
    fn default_spec_round_trips_through_yaml() {
        let spec = Spec::default();
        let back = Spec::from_yaml(&spec.to_yaml(), "default").unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn minimal_document_gets_every_default() {
        let text = "apiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\n\
                    metadata:\n  name: x\nspec:\n  cluster: prod\n";
        let spec = Spec::from_yaml(text, "t").unwrap();
        assert_eq!(spec.spec.cluster.as_deref(), Some("prod"));
        assert_eq!(spec.spec.user, UserSpec::default());
        assert_eq!(spec.spec.execution_role, RoleSpec::default());
    }

    #[test]
    fn namespaces_take_a_list_a_selector_or_all_profiles() {
        let parse = |scope: &str| {
            let text = format!(
                "apiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\n\
                metadata:\n  name: x\nspec:\n  namespaces: {scope}\n"
            );
            Spec::from_yaml(&text, "t").unwrap().spec.namespaces
        };
        assert_eq!(
            parse("[team-a, team-b]"),
            Some(NamespaceScope::Names(vec![
                "team-a".into(),
                "team-b".into()
            ]))
        );
        assert_eq!(
            parse("{selector: 'team=ml'}"),
            Some(NamespaceScope::Selector {
                selector: "team=ml".into()
            })
        );
        assert_eq!(
            parse("{profiles: all}"),
            Some(NamespaceScope::Profiles {
                profiles: AllProfiles::All
            })
        );
    }

    #[test]
    fn identity_mode_is_spelled_in_kebab_case() {
        let text = "apiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\nmetadata:\n  name: x\n\
                    spec:\n  identity:\n    mode: pod-identity\n    roles: per-namespace\n";
        let spec = Spec::from_yaml(text, "t").unwrap();
        assert_eq!(spec.spec.identity.mode, IdentityMode::PodIdentity);
        assert_eq!(spec.spec.identity.roles, RoleLayout::PerNamespace);
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let text = "apiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\n\
                    metadata:\n  name: x\nspec:\n  nodeRole: [a]\n";
        let err = Spec::from_yaml(text, "t").unwrap_err().to_string();
        assert!(err.contains("nodeRole"), "{err}");
    }

    fn parse_error(body: &str) -> String {
        let text = format!(
            "apiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\nmetadata:\n  name: x\n{body}"
        );
        Spec::from_yaml(&text, "t").unwrap_err().to_string()
    }

    #[test]
    fn parse_errors_name_the_field_path() {
        let err = parse_error("spec:\n  components: [training, trainng]\n");
        assert!(
            err.contains("spec.components[1]: unknown variant `trainng`"),
            "{err}"
        );
        let err = parse_error("spec:\n  identity: {createOidcProvider: maybe}\n");
        assert!(err.contains("spec.identity.createOidcProvider: "), "{err}");
        let err = parse_error("spec:\n  namespaces: team-a\n");
        assert!(err.contains("spec.namespaces: expected a list"), "{err}");
    }

    #[test]
    fn a_closing_document_marker_is_not_a_second_document() {
        let text = "---\napiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\n\
                    metadata:\n  name: x\nspec:\n  cluster: prod\n---\n";
        let spec = Spec::from_yaml(text, "t").unwrap();
        assert_eq!(spec.spec.cluster.as_deref(), Some("prod"));
    }

    #[test]
    fn parse_errors_speak_of_the_document_not_the_parser_api() {
        let err = parse_error("---\nkind: x\n");
        assert!(
            err.contains("multiple") && !err.contains("from_str"),
            "{err}"
        );
        let err = parse_error("kind: again\n");
        assert!(
            err.contains("`kind`") && !err.contains("DuplicateKeyPolicy"),
            "{err}"
        );
        let err = parse_error("spec:\n  cluster: a\n  cluster: b\n");
        assert!(
            err.contains(": spec: duplicate mapping key `cluster`"),
            "{err}"
        );
    }
}
