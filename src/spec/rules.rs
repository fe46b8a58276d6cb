//! Field rules from AWS's and Kubernetes' documented limits, checked before any write.

use std::fmt;

use super::RESERVED_TAG_PREFIX;
use super::{API_VERSION, IdentityMode, KIND, MANAGED_BY_KEY, NamespaceScope, RoleLayout, Spec};

/// One field that breaks one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the field, as written in the spec (`spec.user.name`).
    pub field: String,
    /// The offending value.
    pub value: String,
    /// The rule, stated so the user can fix the value.
    pub rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A field that is required has no value to quote; an empty one is named as such.
        match (self.value.is_empty(), self.rule.starts_with(REQUIRED)) {
            (true, true) => write!(f, "{} {}", self.field, self.rule),
            (true, false) => write!(f, "{}: the empty value {}", self.field, self.rule),
            (false, _) => write!(f, "{}: `{}` {}", self.field, self.value, self.rule),
        }
    }
}

/// How the rule of a field that must be set begins.
const REQUIRED: &str = "is required";

/// IAM name characters for users, roles and policies: letters, digits and `+=,.@_-`.
fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

const IAM_NAME_RULE: &str = "letters, digits and +=,.@_-";

/// Collects every violation in `spec`; an empty list means the spec is valid.
pub fn validate(spec: &Spec) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut check = |ok: bool, field: &str, value: &str, rule: &str| {
        if !ok {
            out.push(Violation {
                field: field.into(),
                value: value.into(),
                rule: rule.into(),
            });
        }
    };

    check(
        spec.api_version == API_VERSION,
        "apiVersion",
        &spec.api_version,
        &format!("must be `{API_VERSION}`"),
    );
    check(
        spec.kind == KIND,
        "kind",
        &spec.kind,
        &format!("must be `{KIND}`"),
    );
    let name = &spec.metadata.name;
    check(
        is_dns_subdomain(name),
        "metadata.name",
        name,
        DNS_SUBDOMAIN_RULE,
    );

    let s = &spec.spec;
    if let Some(region) = &s.region {
        check(
            is_region(region),
            "spec.region",
            region,
            "must be an AWS region code such as `us-east-1`",
        );
    }
    if let Some(cluster) = &s.cluster {
        check(
            is_cluster_name(cluster),
            "spec.cluster",
            cluster,
            "must be 1-100 characters of letters, digits, - and _, starting with a letter \
             or digit (EKS cluster name)",
        );
    }
    check(
        s.cluster.is_some() || s.node_roles.is_some(),
        "spec.cluster",
        "",
        "is required when `spec.nodeRoles` is not set: the node roles are discovered from \
         the cluster's managed nodegroups (set either, or pass --cluster)",
    );
    if let Some(roles) = &s.node_roles {
        check(
            !roles.is_empty(),
            "spec.nodeRoles",
            "[]",
            "must list at least one role, or be left out to discover node roles from \
             `spec.cluster`",
        );
        for (i, role) in roles.iter().enumerate() {
            let field = format!("spec.nodeRoles[{i}]");
            check(
                is_iam_name(role, 64),
                &field,
                role,
                &format!("must be a role name of 1-64 characters: {IAM_NAME_RULE}"),
            );
            if roles[..i].contains(role) {
                check(false, &field, role, "is listed twice");
            }
        }
    }

    check_tags(spec, &mut check);
    check(
        is_iam_name(&s.user.name, 64),
        "spec.user.name",
        &s.user.name,
        &format!("must be an IAM user name of 1-64 characters: {IAM_NAME_RULE}"),
    );
    check_policy_arns("spec.user.policies", &s.user.policies, &mut check);
    check(
        is_iam_name(&s.execution_role.name, 64),
        "spec.executionRole.name",
        &s.execution_role.name,
        &format!("must be an IAM role name of 1-64 characters: {IAM_NAME_RULE}"),
    );
    check_policy_arns(
        "spec.executionRole.policies",
        &s.execution_role.policies,
        &mut check,
    );
    check(
        is_iam_name(&s.node_policy.name, 128),
        "spec.nodePolicy.name",
        &s.node_policy.name,
        &format!("must be an inline policy name of 1-128 characters: {IAM_NAME_RULE}"),
    );
    check(
        is_dns_subdomain(&s.secret.name),
        "spec.secret.name",
        &s.secret.name,
        DNS_SUBDOMAIN_RULE,
    );
    check(
        is_dns_label(&s.secret.namespace),
        "spec.secret.namespace",
        &s.secret.namespace,
        NAMESPACE_RULE,
    );
    check_identity(spec, &mut check);
    check_scope(spec, &mut check);
    if let Some(age) = &s.rotation.max_age {
        check(
            super::parse_age(age).is_some(),
            "spec.rotation.maxAge",
            age,
            "must be a positive number of days or hours such as `90d` or `12h`",
        );
    }
    out
}

const NAMESPACE_RULE: &str = "must be a Kubernetes namespace name: at most 63 characters of \
     lowercase letters, digits and -, starting and ending with a letter or digit";

fn check_identity(spec: &Spec, check: &mut Check<'_>) {
    let s = &spec.spec;
    let id = &s.identity;
    if let Some(sa) = &id.service_account {
        check(
            is_dns_subdomain(sa),
            "spec.identity.serviceAccount",
            sa,
            DNS_SUBDOMAIN_RULE,
        );
    }
    check(
        is_iam_name(&id.role_name, 64),
        "spec.identity.roleName",
        &id.role_name,
        &format!("must be an IAM role name of 1-64 characters: {IAM_NAME_RULE}"),
    );
    check_policy_arns("spec.identity.policies", &id.policies, check);
    if id.mode != IdentityMode::AccessKey {
        check(
            s.cluster.is_some(),
            "spec.cluster",
            "",
            "is required in irsa and pod-identity modes: the cluster's OIDC issuer and pod \
             identity associations belong to it",
        );
    }
    match &s.namespaces {
        None => {}
        Some(NamespaceScope::Names(names)) => {
            check(
                !names.is_empty(),
                "spec.namespaces",
                "[]",
                "must list at least one namespace, or be left out for the Secret's namespace",
            );
            for (i, ns) in names.iter().enumerate() {
                let field = format!("spec.namespaces[{i}]");
                check(is_dns_label(ns), &field, ns, NAMESPACE_RULE);
                if names[..i].contains(ns) {
                    check(false, &field, ns, "is listed twice");
                }
                if id.roles == RoleLayout::PerNamespace && id.mode != IdentityMode::AccessKey {
                    let role = format!("{}-{ns}", id.role_name);
                    check(
                        is_iam_name(&role, 64),
                        &field,
                        ns,
                        &format!(
                            "makes the per-namespace role name `{role}` longer than 64 \
                                  characters; shorten `spec.identity.roleName`"
                        ),
                    );
                }
            }
        }
        Some(NamespaceScope::Selector { selector }) => {
            let ok = is_label_selector(selector);
            check(
                ok,
                "spec.namespaces.selector",
                selector,
                "must be a Kubernetes label selector such as `team=ml,env!=dev`",
            );
        }
        Some(NamespaceScope::Profiles { .. }) => {}
    }
}

type Check<'a> = dyn FnMut(bool, &str, &str, &str) + 'a;

fn check_scope(spec: &Spec, check: &mut Check<'_>) {
    let s = &spec.spec;
    if s.permissions == super::PermissionMode::Scoped {
        check(
            !s.buckets.is_empty(),
            "spec.buckets",
            "[]",
            "must name at least one S3 bucket in scoped mode: pipelines and SageMaker jobs \
             read and write their data there",
        );
    }
    if let Some(components) = &s.components {
        check(
            !components.is_empty(),
            "spec.components",
            "[]",
            "must list at least one component, or be left out for all of them",
        );
    }
    for (i, bucket) in s.buckets.iter().enumerate() {
        check(
            is_bucket_name(bucket),
            &format!("spec.buckets[{i}]"),
            bucket,
            "must be an S3 bucket name: 3-63 characters of lowercase letters, digits, . and -, \
             starting and ending with a letter or digit",
        );
    }
    for (i, prefix) in s.endpoint_prefixes.iter().enumerate() {
        let ok = (1..=63).contains(&prefix.len())
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        check(
            ok,
            &format!("spec.endpointPrefixes[{i}]"),
            prefix,
            "must be the start of a SageMaker endpoint name: 1-63 letters, digits and -",
        );
    }
}

/// A Kubernetes label selector: requirements separated by commas, each `key`, `!key`,
/// `key=value`, `key==value`, `key!=value`, `key in (a,b)` or `key notin (a,b)`.
fn is_label_selector(selector: &str) -> bool {
    // Commas inside parentheses belong to a set, not between requirements.
    let mut requirements = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                requirements.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    requirements.push(&selector[start..]);
    depth == 0 && requirements.iter().all(|r| is_requirement(r.trim()))
}

fn is_requirement(r: &str) -> bool {
    let is_value = |v: &str| {
        let v = v.trim();
        v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && v.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
            && v.chars().last().is_none_or(|c| c.is_ascii_alphanumeric())
    };
    let is_set = |s: &str| {
        let s = s.trim();
        s.starts_with('(') && s.ends_with(')') && s[1..s.len() - 1].split(',').all(is_value)
    };
    if let Some(key) = r.strip_prefix('!') {
        return is_label_key(key.trim());
    }
    for op in ["!=", "==", "="] {
        if let Some((key, value)) = r.split_once(op) {
            return is_label_key(key.trim()) && is_value(value);
        }
    }
    for op in [" notin ", " in "] {
        if let Some((key, set)) = r.split_once(op) {
            return is_label_key(key.trim()) && is_set(set);
        }
    }
    is_label_key(r)
}

/// `[prefix/]name`: a DNS subdomain prefix and a name of at most 63 characters.
fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain)
        && (1..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

fn is_bucket_name(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&s.len())
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && !s.contains("..")
}

fn check_tags(spec: &Spec, check: &mut Check<'_>) {
    let tags = &spec.spec.tags;
    // Of AWS's 50 tags, the user needs 4 for kfp-iam's own: ownership, the keys it made,
    // and during key creation and rotation, the pending key and the key being replaced.
    check(
        tags.len() <= 46,
        "spec.tags",
        &format!("{} tags", tags.len()),
        "exceed the limit of 46 (IAM allows 50 and kfp-iam keeps up to 4 of its own)",
    );
    for (key, value) in tags {
        let field = match key.is_empty() {
            true => "spec.tags".to_owned(),
            false => format!("spec.tags.{key}"),
        };
        let len = key.chars().count();
        check(
            (1..=128).contains(&len) && key.chars().all(is_tag_char),
            &field,
            key,
            "is not a valid tag key: 1-128 characters of letters, digits, spaces and _.:/=+-@",
        );
        check(
            !key.to_ascii_lowercase().starts_with("aws:"),
            &field,
            key,
            "uses the prefix `aws:`, which AWS reserves",
        );
        check(
            key != MANAGED_BY_KEY,
            &field,
            key,
            "is kfp-iam's ownership tag and is set by kfp-iam itself",
        );
        check(
            !key.to_ascii_lowercase().starts_with(RESERVED_TAG_PREFIX),
            &field,
            key,
            "uses the prefix `kfp-iam.io/`, which kfp-iam keeps for the tags it manages",
        );
        check(
            value.chars().count() <= 256 && value.chars().all(is_tag_char),
            &field,
            value,
            "is not a valid tag value: at most 256 characters of letters, digits, spaces \
             and _.:/=+-@",
        );
    }
}

fn check_policy_arns(field: &str, arns: &[String], check: &mut Check<'_>) {
    check(
        arns.len() <= 20,
        field,
        &format!("{} policies", arns.len()),
        "must hold at most 20 managed policies (the IAM quota per user or role)",
    );
    for (i, arn) in arns.iter().enumerate() {
        let field = format!("{field}[{i}]");
        check(
            is_policy_arn(arn),
            &field,
            arn,
            "must be a managed policy ARN such as \
             `arn:aws:iam::aws:policy/AmazonSageMakerFullAccess`",
        );
        if arns[..i].contains(arn) {
            check(false, &field, arn, "is listed twice");
        }
    }
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// An IAM user, role or policy name of at most `max` characters.
pub(crate) fn is_iam_name(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len()) && name.chars().all(is_iam_name_char)
}

/// `arn:PARTITION:iam::ACCOUNT|aws:policy/[PATH/]NAME`.
pub(crate) fn is_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let Some(path_and_name) = resource.strip_prefix("policy/") else {
        return false;
    };
    let (path, name) = path_and_name
        .rsplit_once('/')
        .unwrap_or(("", path_and_name));
    prefix == "arn"
        && ["aws", "aws-cn", "aws-us-gov"].contains(&partition)
        && service == "iam"
        && region.is_empty()
        && (account == "aws" || is_account_id(account))
        && is_iam_name(name, 128)
        && path.len() <= 510
        && path.chars().all(|c| c == '/' || c.is_ascii_graphic())
}

pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

fn is_cluster_name(s: &str) -> bool {
    let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

const DNS_SUBDOMAIN_RULE: &str = "must be a Kubernetes object name: at most 253 characters of \
     lowercase letters, digits, - and ., starting and ending with a letter or digit";

/// RFC 1123 label, as Kubernetes requires for namespace names.
pub(crate) fn is_dns_label(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (1..=63).contains(&s.len())
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// RFC 1123 subdomain, as Kubernetes requires for most object names.
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The violations of the default spec for cluster `prod`, edited.
    fn violations_of(edit: impl FnOnce(&mut Spec)) -> Vec<Violation> {
        let mut spec = Spec::default();
        spec.spec.cluster = Some("prod".into());
        edit(&mut spec);
        validate(&spec)
    }

    fn single_field(edit: impl FnOnce(&mut Spec)) -> String {
        let v = violations_of(edit);
        assert_eq!(v.len(), 1, "{v:?}");
        v[0].field.clone()
    }

    /// The message of the one violation `edit` makes.
    fn single_message(edit: impl FnOnce(&mut Spec)) -> String {
        let v = violations_of(edit);
        assert_eq!(v.len(), 1, "{v:?}");
        v[0].to_string()
    }

    #[test]
    fn default_spec_for_a_cluster_has_no_violation() {
        assert!(violations_of(|_| {}).is_empty());
    }

    #[test]
    fn user_name_longer_than_64_is_rejected() {
        let field = single_field(|s| s.spec.user.name = "u".repeat(65));
        assert_eq!(field, "spec.user.name");
    }

    #[test]
    fn user_name_of_exactly_64_is_accepted() {
        assert!(violations_of(|s| s.spec.user.name = "u".repeat(64)).is_empty());
    }

    #[test]
    fn role_name_with_a_space_is_rejected() {
        assert_eq!(
            single_field(|s| s.spec.execution_role.name = "a b".into()),
            "spec.executionRole.name"
        );
    }

    #[test]
    fn namespace_with_uppercase_is_rejected_and_names_the_rule() {
        let v = violations_of(|s| s.spec.secret.namespace = "Kubeflow".into());
        assert_eq!(v[0].field, "spec.secret.namespace");
        assert!(v[0].to_string().contains("`Kubeflow`"));
        assert!(v[0].rule.contains("lowercase"));
    }

    #[test]
    fn malformed_policy_arns_are_rejected() {
        for bad in [
            "AmazonS3FullAccess",
            "arn:aws:iam::12345:policy/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::aws:role/x",
            "arn:aws:iam:us-east-1:aws:policy/x",
        ] {
            let field = single_field(|s| s.spec.user.policies = vec![bad.into()]);
            assert_eq!(field, "spec.user.policies[0]", "{bad}");
        }
    }

    #[test]
    fn customer_policy_arn_with_path_is_accepted() {
        let arn = "arn:aws:iam::123456789012:policy/team/ml/SageMakerScoped";
        assert!(violations_of(|s| s.spec.user.policies = vec![arn.into()]).is_empty());
    }

    #[test]
    fn duplicate_policy_is_rejected() {
        let field = single_field(|s| {
            s.spec
                .execution_role
                .policies
                .push(super::super::S3_FULL_ACCESS.into())
        });
        assert_eq!(field, "spec.executionRole.policies[2]");
    }

    #[test]
    fn region_must_look_like_a_region_code() {
        assert!(violations_of(|s| s.spec.region = Some("eu-central-1".into())).is_empty());
        assert!(violations_of(|s| s.spec.region = Some("us-gov-west-1".into())).is_empty());
        assert_eq!(
            single_field(|s| s.spec.region = Some("useast1".into())),
            "spec.region"
        );
    }

    #[test]
    fn empty_node_role_list_is_rejected() {
        assert_eq!(
            single_field(|s| s.spec.node_roles = Some(vec![])),
            "spec.nodeRoles"
        );
    }

    #[test]
    fn reserved_and_ownership_tag_keys_are_rejected() {
        let v = violations_of(|s| {
            s.spec.tags.insert("aws:owner".into(), "x".into());
            s.spec.tags.insert(MANAGED_BY_KEY.into(), "me".into());
            s.spec
                .tags
                .insert("KFP-IAM.io/rotating-from".into(), "x".into());
        });
        assert_eq!(v.len(), 3, "{v:?}");
    }

    #[test]
    fn an_empty_value_is_named_as_such() {
        let message = single_message(|s| s.spec.cluster = Some(String::new()));
        assert!(
            message.starts_with("spec.cluster: the empty value "),
            "{message}"
        );
    }

    #[test]
    fn tags_leave_room_for_the_four_kfp_iam_keeps() {
        let tags = |n: usize| {
            move |s: &mut Spec| {
                s.spec.tags = (0..n).map(|i| (format!("t{i}"), String::new())).collect();
            }
        };
        assert!(violations_of(tags(46)).is_empty());
        assert_eq!(single_field(tags(47)), "spec.tags");
    }

    #[test]
    fn wrong_kind_and_api_version_are_both_reported() {
        let v = violations_of(|s| {
            s.kind = "Role".into();
            s.api_version = "v1".into();
        });
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["apiVersion", "kind"]);
    }

    #[test]
    fn irsa_without_a_cluster_is_rejected() {
        let message = single_message(|s| {
            s.spec.identity.mode = IdentityMode::Irsa;
            s.spec.cluster = None;
            s.spec.node_roles = Some(vec!["nodes".into()]);
        });
        assert!(
            message.starts_with("spec.cluster is required in irsa"),
            "{message}"
        );
    }

    #[test]
    fn node_roles_need_a_cluster_to_discover_them_from() {
        let message = single_message(|s| s.spec.cluster = None);
        assert!(
            message.starts_with("spec.cluster is required when"),
            "{message}"
        );
        let listed = violations_of(|s| {
            s.spec.cluster = None;
            s.spec.node_roles = Some(vec!["n".into()]);
        });
        assert!(listed.is_empty(), "{listed:?}");
    }

    #[test]
    fn namespace_list_entries_follow_namespace_rules() {
        let v = violations_of(|s| {
            s.spec.namespaces = Some(NamespaceScope::Names(vec![
                "ok".into(),
                "Bad".into(),
                "ok".into(),
            ]));
        });
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["spec.namespaces[1]", "spec.namespaces[2]"]);
    }

    #[test]
    fn per_namespace_role_name_over_64_is_rejected_before_any_write() {
        let v = violations_of(|s| {
            s.spec.cluster = Some("c".into());
            s.spec.identity.mode = IdentityMode::Irsa;
            s.spec.identity.roles = RoleLayout::PerNamespace;
            s.spec.identity.role_name = "r".repeat(50);
            s.spec.namespaces = Some(NamespaceScope::Names(vec!["n".repeat(20)]));
        });
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].rule.contains("longer than 64"));
    }

    #[test]
    fn scoped_mode_needs_buckets_with_valid_names() {
        let field = single_field(|s| s.spec.permissions = crate::spec::PermissionMode::Scoped);
        assert_eq!(field, "spec.buckets");
        let field = single_field(|s| {
            s.spec.permissions = crate::spec::PermissionMode::Scoped;
            s.spec.buckets = vec!["ok-bucket".into(), "Bad_Bucket".into()];
        });
        assert_eq!(field, "spec.buckets[1]");
    }

    #[test]
    fn label_selectors_follow_kubernetes_syntax() {
        for good in [
            "team=ml",
            "team==ml,env!=dev",
            "kubeflow.org/profile",
            "!legacy",
            "env in (prod, staging),tier notin (free)",
            "app.kubernetes.io/part-of=kubeflow",
        ] {
            assert!(is_label_selector(good), "{good}");
        }
        for bad in ["", "a=b=c,,", "=ml", "env in prod", "(", "a b", "-x=1"] {
            assert!(!is_label_selector(bad), "{bad}");
        }
    }

    #[test]
    fn cluster_name_must_start_with_alphanumeric() {
        assert_eq!(
            single_field(|s| s.spec.cluster = Some("-x".into())),
            "spec.cluster"
        );
    }
}
