//! [`Aws`] over the AWS SDK for Rust; honours the standard configuration chain, including
//! `AWS_ENDPOINT_URL`.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_iam::types::{EntityType, StatusType, Tag};
use tracing::{debug, instrument};

use super::decode_document;
use super::{AccessKeyInfo, Aws, AwsError, CallCounter, CallCounts, ErrorKind, Nodegroup};
use super::{OidcProvider, PodIdentityAssociation, Result, Role, RoleDetail, User};
use crate::secret::{KeyPair, SecretValue};

/// AWS clients built from one shared configuration.
#[derive(Debug)]
pub struct SdkAws {
    config: SdkConfig,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    eks: aws_sdk_eks::Client,
    region: String,
    counter: CallCounter,
}

impl SdkAws {
    /// Loads the AWS configuration chain; `region` overrides the chain's region.
    pub async fn connect(region: Option<&str>) -> Result<Self> {
        // Throttling, 5xx and broken connections are retried with jittered backoff; a call
        // that hangs is cut off rather than stalling the run.
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(6)
            .with_max_backoff(std::time::Duration::from_secs(5));
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .operation_attempt_timeout(std::time::Duration::from_secs(20))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_owned()));
        }
        let config = loader.load().await;
        let Some(region) = config.region().map(|r| r.to_string()) else {
            return Err(AwsError::new(
                "configure",
                "region",
                ErrorKind::Invalid,
                "no AWS region is configured; set `spec.region`, pass --region, or set \
                 AWS_REGION",
            ));
        };
        Ok(Self {
            iam: aws_sdk_iam::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            config,
            region,
            counter: CallCounter::default(),
        })
    }
}

fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

fn from_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

fn to_role(r: &aws_sdk_iam::types::Role) -> Role {
    Role {
        name: r.role_name().to_owned(),
        arn: r.arn().to_owned(),
        trust: r
            .assume_role_policy_document()
            .map(decode_document)
            .unwrap_or_default(),
        tags: from_tags(r.tags()),
    }
}

fn to_role_detail(r: &aws_sdk_iam::types::RoleDetail) -> RoleDetail {
    let role = Role {
        name: r.role_name().unwrap_or_default().to_owned(),
        arn: r.arn().unwrap_or_default().to_owned(),
        trust: r
            .assume_role_policy_document()
            .map(decode_document)
            .unwrap_or_default(),
        tags: from_tags(r.tags()),
    };
    let attached = r.attached_managed_policies().iter();
    RoleDetail {
        role,
        attached: attached
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect(),
    }
}

/// Turns NoSuchEntity into `Ok(None)`.
fn optional<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

impl Aws for SdkAws {
    async fn account_id(&self) -> Result<String> {
        self.counter.read();
        let out = self.sts.get_caller_identity().send().await;
        let out = out.map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", "caller", e))?;
        Ok(out.account().unwrap_or_default().to_owned())
    }

    #[instrument(level = "debug", skip_all, fields(key_id = %key.access_key_id))]
    async fn caller_arn(&self, key: &KeyPair) -> Result<String> {
        self.counter.read();
        let creds = Credentials::new(
            key.access_key_id.clone(),
            key.secret_access_key.expose().to_owned(),
            None,
            None,
            "kfp-iam-secret",
        );
        let config = aws_sdk_sts::config::Builder::from(&self.config)
            .credentials_provider(creds)
            .build();
        let sts = aws_sdk_sts::Client::from_conf(config);
        let out = sts.get_caller_identity().send().await;
        let out =
            out.map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", &key.access_key_id, e))?;
        Ok(out.arn().unwrap_or_default().to_owned())
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn calls(&self) -> CallCounts {
        self.counter.snapshot()
    }

    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        self.counter.read();
        let out = self.iam.get_user().user_name(name).send().await;
        let out = optional(out.map_err(|e| AwsError::from_sdk("iam:GetUser", name, e)))?;
        Ok(out.and_then(|o| o.user).map(|u| User {
            name: u.user_name().to_owned(),
            arn: u.arn().to_owned(),
            tags: from_tags(u.tags()),
        }))
    }

    async fn create_user(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<User> {
        self.counter.write();
        debug!(user = name, "creating user");
        let out = self
            .iam
            .create_user()
            .user_name(name)
            .set_tags(Some(to_tags(tags)))
            .send();
        let out = out
            .await
            .map_err(|e| AwsError::from_sdk("iam:CreateUser", name, e))?;
        let user = out.user.ok_or_else(|| {
            AwsError::new(
                "iam:CreateUser",
                name,
                ErrorKind::Other,
                "response had no user",
            )
        })?;
        Ok(User {
            name: name.to_owned(),
            arn: user.arn().to_owned(),
            tags: tags.clone(),
        })
    }

    async fn tag_user(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .tag_user()
            .user_name(name)
            .set_tags(Some(to_tags(tags)))
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:TagUser", name, e))?;
        Ok(())
    }

    async fn untag_user(&self, name: &str, keys: &[String]) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .untag_user()
            .user_name(name)
            .set_tag_keys(Some(keys.to_vec()))
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:UntagUser", name, e))?;
        Ok(())
    }

    async fn delete_user(&self, name: &str) -> Result<()> {
        self.counter.write();
        let call = self.iam.delete_user().user_name(name).send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:DeleteUser", name, e))?;
        Ok(())
    }

    async fn list_user_inline_policies(&self, name: &str) -> Result<Vec<String>> {
        self.counter.read();
        let pages = self
            .iam
            .list_user_policies()
            .user_name(name)
            .into_paginator();
        let items = pages.items().send().try_collect().await;
        items.map_err(|e| AwsError::from_sdk("iam:ListUserPolicies", name, e))
    }

    async fn delete_user_inline_policy(&self, user: &str, policy: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .delete_user_policy()
            .user_name(user)
            .policy_name(policy)
            .send();
        let resource = format!("{user}/{policy}");
        call.await
            .map_err(|e| AwsError::from_sdk("iam:DeleteUserPolicy", &resource, e))?;
        Ok(())
    }

    async fn list_user_policies(&self, name: &str) -> Result<Vec<String>> {
        self.counter.read();
        let pages = self
            .iam
            .list_attached_user_policies()
            .user_name(name)
            .into_paginator();
        let items = pages.items().send().try_collect().await;
        let items =
            items.map_err(|e| AwsError::from_sdk("iam:ListAttachedUserPolicies", name, e))?;
        Ok(items.into_iter().filter_map(|p| p.policy_arn).collect())
    }

    async fn attach_user_policy(&self, name: &str, arn: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .attach_user_policy()
            .user_name(name)
            .policy_arn(arn)
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:AttachUserPolicy", name, e))?;
        Ok(())
    }

    async fn detach_user_policy(&self, name: &str, arn: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .detach_user_policy()
            .user_name(name)
            .policy_arn(arn)
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:DetachUserPolicy", name, e))?;
        Ok(())
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKeyInfo>> {
        self.counter.read();
        let pages = self.iam.list_access_keys().user_name(user).into_paginator();
        let items = pages.items().send().try_collect().await;
        let items = items.map_err(|e| AwsError::from_sdk("iam:ListAccessKeys", user, e))?;
        Ok(items
            .into_iter()
            .map(|k| AccessKeyInfo {
                id: k.access_key_id().unwrap_or_default().to_owned(),
                active: k.status() == Some(&StatusType::Active),
                created: k.create_date().map(|d| d.secs()),
            })
            .collect())
    }

    async fn create_access_key(&self, user: &str) -> Result<KeyPair> {
        self.counter.write();
        let out = self.iam.create_access_key().user_name(user).send().await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:CreateAccessKey", user, e))?;
        let key = out.access_key.ok_or_else(|| {
            AwsError::new(
                "iam:CreateAccessKey",
                user,
                ErrorKind::Other,
                "response had no key",
            )
        })?;
        debug!(user, key_id = key.access_key_id(), "created access key");
        Ok(KeyPair {
            access_key_id: key.access_key_id().to_owned(),
            secret_access_key: SecretValue::new(key.secret_access_key()),
        })
    }

    async fn delete_access_key(&self, user: &str, id: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:DeleteAccessKey", id, e))?;
        Ok(())
    }

    async fn set_access_key_active(&self, user: &str, id: &str, active: bool) -> Result<()> {
        self.counter.write();
        let status = if active {
            StatusType::Active
        } else {
            StatusType::Inactive
        };
        let call = self
            .iam
            .update_access_key()
            .user_name(user)
            .access_key_id(id)
            .status(status);
        call.send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:UpdateAccessKey", id, e))?;
        Ok(())
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>> {
        self.counter.read();
        let out = self.iam.get_role().role_name(name).send().await;
        let out = optional(out.map_err(|e| AwsError::from_sdk("iam:GetRole", name, e)))?;
        Ok(out.and_then(|o| o.role).as_ref().map(to_role))
    }

    async fn list_roles(&self, path_prefix: &str) -> Result<Vec<Role>> {
        let mut pages = self
            .iam
            .list_roles()
            .path_prefix(path_prefix)
            .max_items(1000)
            .into_paginator()
            .send();
        let mut roles = Vec::new();
        while let Some(page) = pages.next().await {
            self.counter.read();
            let page = page.map_err(|e| AwsError::from_sdk("iam:ListRoles", path_prefix, e))?;
            roles.extend(page.roles().iter().map(to_role));
        }
        Ok(roles)
    }

    async fn list_role_details(&self) -> Result<Vec<RoleDetail>> {
        let mut pages = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .max_items(1000)
            .into_paginator()
            .send();
        let mut roles = Vec::new();
        while let Some(page) = pages.next().await {
            self.counter.read();
            let page = page.map_err(|e| {
                AwsError::from_sdk("iam:GetAccountAuthorizationDetails", "roles", e)
            })?;
            roles.extend(page.role_detail_list().iter().map(to_role_detail));
        }
        Ok(roles)
    }

    async fn create_role(
        &self,
        name: &str,
        path: Option<&str>,
        trust: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Role> {
        self.counter.write();
        let call = self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust);
        let out = call
            .set_path(path.map(str::to_owned))
            .set_tags(Some(to_tags(tags)))
            .send();
        let out = out.await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:CreateRole", name, e))?;
        let arn = out.role.map(|r| r.arn).unwrap_or_default();
        Ok(Role {
            name: name.to_owned(),
            arn,
            trust: trust.to_owned(),
            tags: tags.clone(),
        })
    }

    async fn tag_role(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .tag_role()
            .role_name(name)
            .set_tags(Some(to_tags(tags)))
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:TagRole", name, e))?;
        Ok(())
    }

    async fn update_trust(&self, name: &str, trust: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust);
        call.send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:UpdateAssumeRolePolicy", name, e))?;
        Ok(())
    }

    async fn list_role_policies(&self, name: &str) -> Result<Vec<String>> {
        self.counter.read();
        let pages = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator();
        let items = pages.items().send().try_collect().await;
        let items =
            items.map_err(|e| AwsError::from_sdk("iam:ListAttachedRolePolicies", name, e))?;
        Ok(items.into_iter().filter_map(|p| p.policy_arn).collect())
    }

    async fn attach_role_policy(&self, name: &str, arn: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:AttachRolePolicy", name, e))?;
        Ok(())
    }

    async fn detach_role_policy(&self, name: &str, arn: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:DetachRolePolicy", name, e))?;
        Ok(())
    }

    async fn list_role_inline_policies(&self, name: &str) -> Result<Vec<String>> {
        self.counter.read();
        let pages = self
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator();
        let items = pages.items().send().try_collect().await;
        items.map_err(|e| AwsError::from_sdk("iam:ListRolePolicies", name, e))
    }

    async fn get_role_inline_policy(&self, role: &str, policy: &str) -> Result<Option<String>> {
        self.counter.read();
        let out = self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send()
            .await;
        let resource = format!("{role}/{policy}");
        let out = optional(out.map_err(|e| AwsError::from_sdk("iam:GetRolePolicy", &resource, e)))?;
        Ok(out.map(|o| decode_document(&o.policy_document)))
    }

    async fn put_role_inline_policy(&self, role: &str, policy: &str, document: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .put_role_policy()
            .role_name(role)
            .policy_name(policy);
        let out = call.policy_document(document).send().await;
        let resource = format!("{role}/{policy}");
        out.map_err(|e| AwsError::from_sdk("iam:PutRolePolicy", &resource, e))?;
        Ok(())
    }

    async fn delete_role_inline_policy(&self, role: &str, policy: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send();
        let resource = format!("{role}/{policy}");
        call.await
            .map_err(|e| AwsError::from_sdk("iam:DeleteRolePolicy", &resource, e))?;
        Ok(())
    }

    async fn delete_role(&self, name: &str) -> Result<()> {
        self.counter.write();
        let call = self.iam.delete_role().role_name(name).send();
        call.await
            .map_err(|e| AwsError::from_sdk("iam:DeleteRole", name, e))?;
        Ok(())
    }

    async fn list_oidc_providers(&self) -> Result<Vec<String>> {
        self.counter.read();
        let out = self.iam.list_open_id_connect_providers().send().await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:ListOpenIDConnectProviders", "*", e))?;
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn.clone())
            .collect())
    }

    async fn get_oidc_provider(&self, arn: &str) -> Result<Option<OidcProvider>> {
        self.counter.read();
        let out = self
            .iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn);
        let out = out.send().await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:GetOpenIDConnectProvider", arn, e));
        Ok(optional(out)?.map(|o| OidcProvider {
            arn: arn.to_owned(),
            url: o
                .url()
                .unwrap_or_default()
                .trim_start_matches("https://")
                .to_owned(),
            client_ids: o.client_id_list().to_vec(),
            tags: from_tags(o.tags()),
        }))
    }

    async fn delete_oidc_provider(&self, arn: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn);
        let out = call.send().await;
        out.map_err(|e| AwsError::from_sdk("iam:DeleteOpenIDConnectProvider", arn, e))?;
        Ok(())
    }

    async fn create_oidc_provider(
        &self,
        url: &str,
        client_ids: &[String],
        tags: &BTreeMap<String, String>,
    ) -> Result<String> {
        self.counter.write();
        let call = self.iam.create_open_id_connect_provider().url(url);
        let call = call.set_client_id_list(Some(client_ids.to_vec()));
        let out = call.set_tags(Some(to_tags(tags))).send().await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:CreateOpenIDConnectProvider", url, e))?;
        Ok(out
            .open_id_connect_provider_arn()
            .unwrap_or_default()
            .to_owned())
    }

    async fn create_policy(
        &self,
        name: &str,
        path: &str,
        document: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String> {
        self.counter.write();
        let call = self
            .iam
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document);
        let out = call.set_tags(Some(to_tags(tags))).send().await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:CreatePolicy", name, e))?;
        Ok(out.policy.and_then(|p| p.arn).unwrap_or_default())
    }

    async fn set_policy_document(&self, arn: &str, document: &str) -> Result<()> {
        self.counter.read();
        let out = self.iam.list_policy_versions().policy_arn(arn).send().await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:ListPolicyVersions", arn, e))?;
        let mut old: Vec<_> = out
            .versions()
            .iter()
            .filter(|v| !v.is_default_version())
            .collect();
        if out.versions().len() >= 5 {
            old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
            if let Some(id) = old.first().and_then(|v| v.version_id()) {
                self.counter.write();
                let call = self
                    .iam
                    .delete_policy_version()
                    .policy_arn(arn)
                    .version_id(id);
                let out = call.send().await;
                out.map_err(|e| AwsError::from_sdk("iam:DeletePolicyVersion", arn, e))?;
            }
        }
        self.counter.write();
        let call = self
            .iam
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document);
        let out = call.set_as_default(true).send().await;
        out.map_err(|e| AwsError::from_sdk("iam:CreatePolicyVersion", arn, e))?;
        Ok(())
    }

    async fn delete_policy(&self, arn: &str) -> Result<()> {
        self.counter.read();
        let out = self.iam.list_policy_versions().policy_arn(arn).send().await;
        let out = out.map_err(|e| AwsError::from_sdk("iam:ListPolicyVersions", arn, e))?;
        for version in out.versions().iter().filter(|v| !v.is_default_version()) {
            self.counter.write();
            let id = version.version_id().unwrap_or_default();
            let call = self
                .iam
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(id);
            let out = call.send().await;
            out.map_err(|e| AwsError::from_sdk("iam:DeletePolicyVersion", arn, e))?;
        }
        self.counter.write();
        let out = self.iam.delete_policy().policy_arn(arn).send().await;
        out.map_err(|e| AwsError::from_sdk("iam:DeletePolicy", arn, e))?;
        Ok(())
    }

    async fn get_managed_policy_document(&self, arn: &str) -> Result<Option<String>> {
        self.counter.read();
        let out = self.iam.get_policy().policy_arn(arn).send().await;
        let out = optional(out.map_err(|e| AwsError::from_sdk("iam:GetPolicy", arn, e)))?;
        let Some(version) = out
            .and_then(|o| o.policy)
            .and_then(|p| p.default_version_id)
        else {
            return Ok(None);
        };
        self.counter.read();
        let call = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send();
        let out = call
            .await
            .map_err(|e| AwsError::from_sdk("iam:GetPolicyVersion", arn, e))?;
        Ok(out
            .policy_version
            .and_then(|v| v.document)
            .map(|d| decode_document(&d)))
    }

    async fn list_nodegroups(&self, cluster: &str) -> Result<Vec<Nodegroup>> {
        self.counter.read();
        let pages = self
            .eks
            .list_nodegroups()
            .cluster_name(cluster)
            .into_paginator();
        let names = pages.items().send().try_collect().await;
        let names = names.map_err(|e| AwsError::from_sdk("eks:ListNodegroups", cluster, e))?;
        let describe = names.into_iter().map(|name| async move {
            self.counter.read();
            let call = self
                .eks
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(&name);
            let out = call.send().await;
            let out = out.map_err(|e| AwsError::from_sdk("eks:DescribeNodegroup", &name, e))?;
            let role = out.nodegroup.and_then(|n| n.node_role).unwrap_or_default();
            Ok(Nodegroup {
                name,
                node_role_arn: role,
            })
        });
        futures::future::try_join_all(describe).await
    }

    async fn cluster_issuer(&self, cluster: &str) -> Result<String> {
        self.counter.read();
        let out = self.eks.describe_cluster().name(cluster).send().await;
        let out = out.map_err(|e| AwsError::from_sdk("eks:DescribeCluster", cluster, e))?;
        let issuer = out
            .cluster
            .and_then(|c| c.identity)
            .and_then(|i| i.oidc)
            .and_then(|o| o.issuer);
        issuer.ok_or_else(|| {
            let detail = "the cluster reports no OIDC issuer";
            AwsError::new("eks:DescribeCluster", cluster, ErrorKind::Invalid, detail)
        })
    }

    async fn list_pod_identity_associations(
        &self,
        cluster: &str,
    ) -> Result<Vec<PodIdentityAssociation>> {
        self.counter.read();
        let op = "eks:ListPodIdentityAssociations";
        let pages = self
            .eks
            .list_pod_identity_associations()
            .cluster_name(cluster);
        let items = pages.into_paginator().items().send().try_collect().await;
        let items = items.map_err(|e| AwsError::from_sdk(op, cluster, e))?;
        let describe = items
            .into_iter()
            .filter_map(|s| s.association_id)
            .map(|id| async move {
                self.counter.read();
                let call = self
                    .eks
                    .describe_pod_identity_association()
                    .cluster_name(cluster);
                let out = call.association_id(&id).send().await;
                let out = out.map_err(|e| {
                    AwsError::from_sdk("eks:DescribePodIdentityAssociation", &id, e)
                })?;
                let a = out.association.unwrap_or_else(|| {
                    aws_sdk_eks::types::PodIdentityAssociation::builder().build()
                });
                Ok(PodIdentityAssociation {
                    id,
                    namespace: a.namespace.unwrap_or_default(),
                    service_account: a.service_account.unwrap_or_default(),
                    role_arn: a.role_arn.unwrap_or_default(),
                })
            });
        futures::future::try_join_all(describe).await
    }

    async fn create_pod_identity_association(
        &self,
        cluster: &str,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.counter.write();
        let call = self
            .eks
            .create_pod_identity_association()
            .cluster_name(cluster);
        let call = call
            .namespace(namespace)
            .service_account(service_account)
            .role_arn(role_arn);
        let tags = tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let resource = format!("{namespace}/{service_account}");
        let out = call.set_tags(Some(tags)).send().await;
        out.map_err(|e| AwsError::from_sdk("eks:CreatePodIdentityAssociation", &resource, e))?;
        Ok(())
    }

    async fn update_pod_identity_association(
        &self,
        cluster: &str,
        id: &str,
        role_arn: &str,
    ) -> Result<()> {
        self.counter.write();
        let call = self
            .eks
            .update_pod_identity_association()
            .cluster_name(cluster);
        let out = call.association_id(id).role_arn(role_arn).send().await;
        out.map_err(|e| AwsError::from_sdk("eks:UpdatePodIdentityAssociation", id, e))?;
        Ok(())
    }

    async fn delete_pod_identity_association(&self, cluster: &str, id: &str) -> Result<()> {
        self.counter.write();
        let call = self
            .eks
            .delete_pod_identity_association()
            .cluster_name(cluster);
        let out = call.association_id(id).send().await;
        out.map_err(|e| AwsError::from_sdk("eks:DeletePodIdentityAssociation", id, e))?;
        Ok(())
    }
}
