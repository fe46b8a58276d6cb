//! The AWS side: the calls kfp-iam makes to IAM, STS and EKS, behind one trait.
//!
//! [`Aws`] is what the plan, apply and verify steps depend on, so they can be tested with an
//! in-memory fake; [`SdkAws`] implements it over the AWS SDK for Rust. Policy documents cross
//! this boundary as JSON text, already URL-decoded.

mod error;
mod sdk;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

pub use error::{AwsError, ErrorKind};
pub use sdk::SdkAws;

use crate::secret::KeyPair;

pub type Result<T, E = AwsError> = std::result::Result<T, E>;

/// An IAM user as kfp-iam sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

/// An IAM role as kfp-iam sees it; `trust` is the assume-role policy as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub trust: String,
    pub tags: BTreeMap<String, String>,
}

/// A role with the ARNs of the managed policies attached to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDetail {
    pub role: Role,
    pub attached: Vec<String>,
}

/// An access key without its secret, as IAM lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    pub id: String,
    pub active: bool,
    /// Creation time, seconds since the Unix epoch.
    pub created: Option<i64>,
}

/// A managed nodegroup and the role its nodes run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nodegroup {
    pub name: String,
    pub node_role_arn: String,
}

/// An IAM OIDC identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub arn: String,
    /// The issuer without `https://`, as IAM stores it.
    pub url: String,
    pub client_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// An EKS pod identity association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentityAssociation {
    pub id: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
}

/// Calls counted by kind, so a no-change run can prove it wrote nothing.
#[derive(Debug, Default)]
pub struct CallCounter {
    reads: AtomicU64,
    writes: AtomicU64,
}

/// A snapshot of a [`CallCounter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallCounts {
    pub reads: u64,
    pub writes: u64,
}

impl CallCounter {
    pub fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }
    pub fn write(&self) {
        crate::fault::before_write();
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> CallCounts {
        CallCounts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }
}

/// The AWS operations kfp-iam uses. Getters return `Ok(None)` for a missing entity.
pub trait Aws: Send + Sync {
    /// The account the configured credentials belong to.
    fn account_id(&self) -> impl Future<Output = Result<String>> + Send;
    /// The ARN STS reports for `key`: proves the key works and whose it is.
    fn caller_arn(&self, key: &KeyPair) -> impl Future<Output = Result<String>> + Send;
    fn region(&self) -> &str;
    fn calls(&self) -> CallCounts;

    // Users and their keys.
    fn get_user(&self, name: &str) -> impl Future<Output = Result<Option<User>>> + Send;
    fn create_user(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<User>> + Send;
    fn tag_user(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn untag_user(&self, name: &str, keys: &[String]) -> impl Future<Output = Result<()>> + Send;
    fn delete_user(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn list_user_inline_policies(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn delete_user_inline_policy(
        &self,
        user: &str,
        policy: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    fn list_user_policies(&self, name: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn attach_user_policy(&self, name: &str, arn: &str) -> impl Future<Output = Result<()>> + Send;
    fn detach_user_policy(&self, name: &str, arn: &str) -> impl Future<Output = Result<()>> + Send;
    fn list_access_keys(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Vec<AccessKeyInfo>>> + Send;
    fn create_access_key(&self, user: &str) -> impl Future<Output = Result<KeyPair>> + Send;
    fn delete_access_key(&self, user: &str, id: &str) -> impl Future<Output = Result<()>> + Send;
    fn set_access_key_active(
        &self,
        user: &str,
        id: &str,
        active: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    // Roles and their policies.
    fn get_role(&self, name: &str) -> impl Future<Output = Result<Option<Role>>> + Send;
    /// Roles under `path_prefix` (such as `/kfp-iam/`), with their trust policies; tags are
    /// not listed.
    fn list_roles(&self, path_prefix: &str) -> impl Future<Output = Result<Vec<Role>>> + Send;
    /// Every role of the account with its tags and attached policies, a page per 1,000 roles
    /// (`GetAccountAuthorizationDetails`): for many roles, far fewer calls than a `get_role`
    /// and a `list_role_policies` for each.
    fn list_role_details(&self) -> impl Future<Output = Result<Vec<RoleDetail>>> + Send;
    fn create_role(
        &self,
        name: &str,
        path: Option<&str>,
        trust: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Role>> + Send;
    fn tag_role(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn update_trust(&self, name: &str, trust: &str) -> impl Future<Output = Result<()>> + Send;
    fn list_role_policies(&self, name: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn attach_role_policy(&self, name: &str, arn: &str) -> impl Future<Output = Result<()>> + Send;
    fn detach_role_policy(&self, name: &str, arn: &str) -> impl Future<Output = Result<()>> + Send;
    fn list_role_inline_policies(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn get_role_inline_policy(
        &self,
        role: &str,
        policy: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    fn put_role_inline_policy(
        &self,
        role: &str,
        policy: &str,
        document: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    fn delete_role_inline_policy(
        &self,
        role: &str,
        policy: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    fn delete_role(&self, name: &str) -> impl Future<Output = Result<()>> + Send;

    // OIDC providers.
    fn list_oidc_providers(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn get_oidc_provider(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<OidcProvider>>> + Send;
    fn delete_oidc_provider(&self, arn: &str) -> impl Future<Output = Result<()>> + Send;
    /// Creates a provider for `url` (with `https://`) and returns its ARN.
    fn create_oidc_provider(
        &self,
        url: &str,
        client_ids: &[String],
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Creates a customer managed policy and returns its ARN.
    fn create_policy(
        &self,
        name: &str,
        path: &str,
        document: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String>> + Send;
    /// Makes `document` the default version, deleting the oldest other version first when
    /// the policy has IAM's maximum of five.
    fn set_policy_document(
        &self,
        arn: &str,
        document: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a customer managed policy with all its versions; it must be detached.
    fn delete_policy(&self, arn: &str) -> impl Future<Output = Result<()>> + Send;
    /// The default version's document of a managed policy.
    fn get_managed_policy_document(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    // EKS.
    fn list_nodegroups(&self, cluster: &str)
    -> impl Future<Output = Result<Vec<Nodegroup>>> + Send;
    /// The cluster's OIDC issuer URL, with `https://`.
    fn cluster_issuer(&self, cluster: &str) -> impl Future<Output = Result<String>> + Send;
    fn list_pod_identity_associations(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<PodIdentityAssociation>>> + Send;
    fn create_pod_identity_association(
        &self,
        cluster: &str,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn update_pod_identity_association(
        &self,
        cluster: &str,
        id: &str,
        role_arn: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    fn delete_pod_identity_association(
        &self,
        cluster: &str,
        id: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The role name in a role ARN (`arn:aws:iam::1:role/path/name` gives `name`).
pub fn role_name_from_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    resource
        .strip_prefix("role/")
        .map(|p| p.rsplit('/').next().unwrap_or(p))
}

/// IAM returns policy documents URL-encoded; some emulators return them as is.
pub fn decode_document(raw: &str) -> String {
    if raw.trim_start().starts_with('{') {
        return raw.to_owned();
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_name_is_the_last_path_segment_of_the_arn() {
        assert_eq!(
            role_name_from_arn("arn:aws:iam::123456789012:role/ng-1"),
            Some("ng-1")
        );
        assert_eq!(
            role_name_from_arn("arn:aws:iam::123456789012:role/eks/a/ng"),
            Some("ng")
        );
        assert_eq!(role_name_from_arn("arn:aws:iam::123456789012:user/u"), None);
    }

    #[test]
    fn encoded_and_plain_documents_decode_to_the_same_json() {
        let plain = r#"{"Version":"2012-10-17"}"#;
        assert_eq!(
            decode_document("%7B%22Version%22%3A%222012-10-17%22%7D"),
            plain
        );
        assert_eq!(decode_document(plain), plain);
    }
}
