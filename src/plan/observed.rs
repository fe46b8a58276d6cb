//! Observed state: what AWS and Kubernetes hold now for the resources of a [`Desired`].
//!
//! Reads are batched where the APIs allow (one list of namespaces, of Secrets by name, of
//! service accounts by name or label, of roles by path) and otherwise run concurrently with a
//! bound, so hundreds of namespaces cost a handful of list calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::{StreamExt, TryStreamExt, stream};
use tracing::debug;

use super::PlanError;
use super::desired::{
    ACCESS_KEY_ID_KEY, ACCESS_LABEL, Desired, EXECUTION_POLICY_NAME, SECRET_ACCESS_KEY_KEY,
};
use crate::aws::User;
use crate::aws::{AccessKeyInfo, Aws, OidcProvider, PodIdentityAssociation, Role, RoleDetail};
use crate::kube::{Kube, SecretState, ServiceAccountState};
use crate::secret::{KeyPair, SecretValue};
use crate::spec::IdentityMode;

/// How many calls of one kind run at once.
pub const CONCURRENCY: usize = 16;
/// Above this many namespaces, Secrets are listed cluster-wide instead of read one by one.
const LIST_SECRETS_ABOVE: usize = 10;
/// Above this many roles, their tags and policies come from the account's role details, a call
/// per 1,000 roles of the account, instead of two calls per role.
const ROLE_DETAILS_ABOVE: usize = 16;

/// What the Secret's key turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHealth {
    /// No Secret, or it lacks one of the two data keys.
    Missing,
    /// The key id is not one of the user's keys.
    NotTheUsers { access_key_id: String },
    /// The key belongs to the user but is inactive.
    Inactive { access_key_id: String },
    /// STS refused the key, or answered with another identity.
    Rejected {
        access_key_id: String,
        reason: String,
    },
    /// STS accepted the key as the user's.
    Working { access_key_id: String },
}

impl KeyHealth {
    pub fn access_key_id(&self) -> Option<&str> {
        match self {
            Self::Missing => None,
            Self::NotTheUsers { access_key_id }
            | Self::Inactive { access_key_id }
            | Self::Rejected { access_key_id, .. }
            | Self::Working { access_key_id } => Some(access_key_id),
        }
    }

    pub fn is_working(&self) -> bool {
        matches!(self, Self::Working { .. })
    }
}

/// An observed node role and kfp-iam's inline policy on it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedNodeRole {
    pub name: String,
    pub exists: bool,
    pub inline_policy: Option<String>,
}

/// The access-key Secret of one namespace in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSecret {
    pub namespace: String,
    pub state: Option<SecretState>,
    pub health: KeyHealth,
}

/// A role with its attached managed policies.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRole {
    pub role: Role,
    pub policies: Vec<String>,
}

/// The current state of every resource the desired state names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// Namespaces that exist, among those in scope.
    pub namespaces: BTreeSet<String>,
    pub user: Option<User>,
    pub user_policies: Vec<String>,
    pub keys: Vec<AccessKeyInfo>,
    /// One per namespace in scope, in access-key mode.
    pub secrets: Vec<ObservedSecret>,
    /// Secrets kfp-iam wrote for this spec that are out of scope now, as (namespace, name).
    pub stale_secrets: Vec<(String, String)>,
    pub provider: Option<OidcProvider>,
    /// Desired pipeline roles that exist, by name.
    pub pipeline_roles: BTreeMap<String, ObservedRole>,
    /// Roles under kfp-iam's path for this spec that are no longer desired.
    pub stale_roles: Vec<Role>,
    /// Service accounts in scope that exist, by (namespace, name).
    pub service_accounts: BTreeMap<(String, String), ServiceAccountState>,
    /// Service accounts that carry kfp-iam's access label for this spec.
    pub labelled_accounts: Vec<ServiceAccountState>,
    pub associations: Vec<PodIdentityAssociation>,
    pub role: Option<Role>,
    pub role_policies: Vec<String>,
    /// The execution role's inline policy kfp-iam writes (scoped mode).
    pub execution_policy: Option<String>,
    /// The default version of the pipeline policy (scoped mode).
    pub pipeline_policy: Option<String>,
    pub node_roles: Vec<ObservedNodeRole>,
}

/// The key pair a Secret holds, when it holds both halves.
pub fn key_in_secret(secret: &SecretState) -> Option<KeyPair> {
    let id = secret
        .data
        .get(ACCESS_KEY_ID_KEY)?
        .expose()
        .trim()
        .to_owned();
    let secret_key = secret
        .data
        .get(SECRET_ACCESS_KEY_KEY)?
        .expose()
        .trim()
        .to_owned();
    if id.is_empty() || secret_key.is_empty() {
        return None;
    }
    Some(KeyPair {
        access_key_id: id,
        secret_access_key: SecretValue::new(secret_key),
    })
}

/// Reads everything `desired` names; independent reads run concurrently.
pub async fn observe(
    desired: &Desired,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<Observed, PlanError> {
    let namespaces = async {
        let all = kube.list_namespaces(None).await?;
        let wanted: BTreeSet<&str> = desired
            .targets
            .iter()
            .map(|t| t.namespace.as_str())
            .collect();
        Ok::<_, PlanError>(
            all.into_iter()
                .filter(|n| wanted.contains(n.as_str()))
                .collect(),
        )
    };
    let execution_role = observe_role(&desired.role, aws);
    let nodes = stream::iter(&desired.node_roles)
        .map(|name| async move {
            let exists = aws.get_role(name).await?.is_some();
            let inline_policy = match exists {
                true => {
                    aws.get_role_inline_policy(name, &desired.node_policy_name)
                        .await?
                }
                false => None,
            };
            Ok::<_, PlanError>(ObservedNodeRole {
                name: name.clone(),
                exists,
                inline_policy,
            })
        })
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>();
    let identity = async {
        match desired.mode {
            IdentityMode::AccessKey => {
                let (keys, (stale_roles, labelled_accounts)) = futures::future::try_join(
                    observe_access_key(desired, aws, kube),
                    observe_identity_leftovers(desired, aws, kube),
                )
                .await?;
                Ok(Observed {
                    stale_roles,
                    labelled_accounts,
                    ..keys
                })
            }
            _ => observe_pipeline_roles(desired, aws, kube).await,
        }
    };
    // Read in every mode: a spec that left scoped mode must take its documents back.
    let scoped = async {
        let (pipeline, execution) = futures::future::join(
            aws.get_managed_policy_document(&desired.pipeline_policy_arn),
            aws.get_role_inline_policy(&desired.role, EXECUTION_POLICY_NAME),
        )
        .await;
        let missing_is_none = |r: Result<Option<String>, crate::aws::AwsError>| match r {
            Err(e) if e.is_not_found() => Ok(None),
            other => other,
        };
        Ok::<_, PlanError>((missing_is_none(pipeline)?, missing_is_none(execution)?))
    };
    let everything = futures::future::try_join4(namespaces, execution_role, nodes, identity);
    let ((namespaces, execution_role, node_roles, identity), (pipeline_policy, execution_policy)) =
        futures::future::try_join(everything, scoped).await?;
    let (role, role_policies) = match execution_role {
        Some(o) => (Some(o.role), o.policies),
        None => (None, Vec::new()),
    };
    Ok(Observed {
        namespaces,
        role,
        role_policies,
        execution_policy,
        pipeline_policy,
        node_roles,
        ..identity
    })
}

async fn observe_role(name: &str, aws: &impl Aws) -> Result<Option<ObservedRole>, PlanError> {
    let Some(role) = aws.get_role(name).await? else {
        return Ok(None);
    };
    let policies = aws.list_role_policies(name).await?;
    Ok(Some(ObservedRole { role, policies }))
}

/// What an earlier irsa or pod-identity apply of this spec left: every role under its path
/// and every service account carrying its mark.
async fn observe_identity_leftovers(
    desired: &Desired,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<(Vec<Role>, Vec<ServiceAccountState>), PlanError> {
    let roles = async { Ok::<_, PlanError>(aws.list_roles(&desired.role_path).await?) };
    let accounts = async { Ok(observe_service_accounts(desired, kube).await?.1) };
    futures::future::try_join(roles, accounts).await
}

async fn observe_access_key(
    desired: &Desired,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<Observed, PlanError> {
    let aws_reads = async {
        let user = aws.get_user(&desired.user).await?;
        if user.is_none() {
            return Ok::<_, PlanError>((None, Vec::new(), Vec::new()));
        }
        let (policies, keys) = futures::future::try_join(
            aws.list_user_policies(&desired.user),
            aws.list_access_keys(&desired.user),
        )
        .await?;
        Ok((user, policies, keys))
    };
    let label = format!("{ACCESS_LABEL}={}", desired.spec_name);
    let labelled = async { Ok::<_, PlanError>(kube.list_secrets(None, Some(&label)).await?) };
    let ((user, user_policies, keys), found, labelled) =
        futures::future::try_join3(aws_reads, read_secrets(desired, kube), labelled).await?;
    let in_scope = |ns: &str, name: &str| {
        name == desired.secret_name && desired.targets.iter().any(|t| t.namespace == ns)
    };
    let stale_secrets: Vec<(String, String)> = labelled
        .into_iter()
        .filter(|(ns, name, _)| !in_scope(ns, name))
        .map(|(ns, name, _)| (ns, name))
        .collect();

    // One STS call per distinct key, however many Secrets hold it.
    let mut health_of: HashMap<Option<(String, String)>, KeyHealth> = HashMap::new();
    let mut secrets = Vec::with_capacity(desired.targets.len());
    for target in &desired.targets {
        let state = found.get(&target.namespace).cloned();
        let pair = state.as_ref().and_then(key_in_secret);
        let cache_key = pair
            .as_ref()
            .map(|p| (p.access_key_id.clone(), p.secret_access_key.expose().into()));
        let health = match health_of.get(&cache_key) {
            Some(h) => h.clone(),
            None => {
                let h = key_health(user.as_ref(), &keys, pair, aws).await?;
                health_of.insert(cache_key, h.clone());
                h
            }
        };
        debug!(namespace = %target.namespace, ?health, "observed the Secret's key");
        secrets.push(ObservedSecret {
            namespace: target.namespace.clone(),
            state,
            health,
        });
    }
    Ok(Observed {
        user,
        user_policies,
        keys,
        secrets,
        stale_secrets,
        ..Observed::default()
    })
}

async fn read_secrets(
    desired: &Desired,
    kube: &impl Kube,
) -> Result<HashMap<String, SecretState>, PlanError> {
    let name = &desired.secret_name;
    if desired.targets.len() > LIST_SECRETS_ABOVE {
        let field = format!("metadata.name={name}");
        let found = kube.list_secrets(Some(&field), None).await?;
        return Ok(found
            .into_iter()
            .map(|(ns, _, state)| (ns, state))
            .collect());
    }
    let found = stream::iter(&desired.targets)
        .map(|t| async move {
            let state = kube.get_secret(&t.namespace, name).await?;
            Ok::<_, PlanError>(state.map(|s| (t.namespace.clone(), s)))
        })
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Decides whether a key pair is a working key of the user; asks STS only when the listing
/// says the key is the user's and active.
pub async fn key_health(
    user: Option<&User>,
    keys: &[AccessKeyInfo],
    pair: Option<KeyPair>,
    aws: &impl Aws,
) -> Result<KeyHealth, PlanError> {
    let Some(pair) = pair else {
        return Ok(KeyHealth::Missing);
    };
    let access_key_id = pair.access_key_id.clone();
    let (Some(user), Some(listed)) = (user, keys.iter().find(|k| k.id == access_key_id)) else {
        return Ok(KeyHealth::NotTheUsers { access_key_id });
    };
    if !listed.active {
        return Ok(KeyHealth::Inactive { access_key_id });
    }
    match aws.caller_arn(&pair).await {
        Ok(arn) if arn == user.arn => Ok(KeyHealth::Working { access_key_id }),
        Ok(arn) => {
            let reason = format!("STS reports the key as `{arn}`, not `{}`", user.arn);
            Ok(KeyHealth::Rejected {
                access_key_id,
                reason,
            })
        }
        Err(e) if e.kind == crate::aws::ErrorKind::AccessDenied => Ok(KeyHealth::Rejected {
            access_key_id,
            reason: e.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

async fn observe_pipeline_roles(
    desired: &Desired,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<Observed, PlanError> {
    let provider = async {
        let Some(wanted) = desired.provider_arn() else {
            return Ok::<_, PlanError>(None);
        };
        let arns = aws.list_oidc_providers().await?;
        match arns
            .iter()
            .find(|a| a.ends_with(&format!("oidc-provider/{}", issuer_of(&wanted))))
        {
            Some(arn) => Ok(aws.get_oidc_provider(arn).await?),
            None => Ok(None),
        }
    };
    let roles = observe_desired_roles(desired, aws);
    let accounts = observe_service_accounts(desired, kube);
    let associations = async {
        match (desired.mode, &desired.cluster) {
            (IdentityMode::PodIdentity, Some(cluster)) => {
                Ok::<_, PlanError>(aws.list_pod_identity_associations(cluster).await?)
            }
            _ => Ok(Vec::new()),
        }
    };
    let (provider, (pipeline_roles, stale_roles), (service_accounts, labelled_accounts), assoc) =
        futures::future::try_join4(provider, roles, accounts, associations).await?;
    Ok(Observed {
        provider,
        pipeline_roles,
        stale_roles,
        service_accounts,
        labelled_accounts,
        associations: assoc,
        ..Observed::default()
    })
}

fn issuer_of(provider_arn: &str) -> &str {
    provider_arn
        .split_once("oidc-provider/")
        .map(|(_, i)| i)
        .unwrap_or(provider_arn)
}

type ObservedRoles = (BTreeMap<String, ObservedRole>, Vec<Role>);

async fn observe_desired_roles(
    desired: &Desired,
    aws: &impl Aws,
) -> Result<ObservedRoles, PlanError> {
    let listed = aws.list_roles(&desired.role_path).await?;
    let wanted: BTreeSet<&str> = desired
        .pipeline_roles
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    let (present, stale): (Vec<Role>, Vec<Role>) = listed
        .into_iter()
        .partition(|r| wanted.contains(r.name.as_str()));
    let mut present: BTreeMap<String, Role> =
        present.into_iter().map(|r| (r.name.clone(), r)).collect();

    // Ownership needs tags, which ListRoles does not return. For many roles, the account's
    // role details hold every role, wherever its path, with tags and policies; a role they
    // miss although listed (made since they were read) is read on its own below.
    let mut observed = BTreeMap::new();
    if wanted.len() > ROLE_DETAILS_ABOVE {
        for RoleDetail { role, attached } in aws.list_role_details().await? {
            if wanted.contains(role.name.as_str()) {
                present.remove(&role.name);
                let policies = attached;
                observed.insert(role.name.clone(), ObservedRole { role, policies });
            }
        }
    } else {
        // A desired role outside the path may exist (made by hand, or adopted).
        let missing = wanted.iter().filter(|n| !present.contains_key(**n));
        let elsewhere = stream::iter(missing)
            .map(|name| aws.get_role(name))
            .buffered(CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        present.extend(elsewhere.into_iter().flatten().map(|r| (r.name.clone(), r)));
    }
    let read = stream::iter(present.into_values())
        .map(|listed| async move {
            let role = aws.get_role(&listed.name).await?.unwrap_or(listed);
            let policies = aws.list_role_policies(&role.name).await?;
            Ok::<_, PlanError>((role.name.clone(), ObservedRole { role, policies }))
        })
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    observed.extend(read);
    Ok((observed, stale))
}

type ObservedAccounts = (
    BTreeMap<(String, String), ServiceAccountState>,
    Vec<ServiceAccountState>,
);

async fn observe_service_accounts(
    desired: &Desired,
    kube: &impl Kube,
) -> Result<ObservedAccounts, PlanError> {
    let label = format!("{ACCESS_LABEL}={}", desired.spec_name);
    if desired.mode != IdentityMode::Irsa {
        // Only irsa marks accounts: in other modes every marked one is a leftover.
        let labelled = kube.list_service_accounts(None, Some(&label)).await?;
        return Ok((BTreeMap::new(), labelled));
    }
    let names: BTreeSet<&str> = desired
        .targets
        .iter()
        .map(|t| t.service_account.as_str())
        .collect();
    let by_name = stream::iter(names)
        .map(|name| async move {
            Ok::<_, PlanError>(
                kube.list_service_accounts(Some(&format!("metadata.name={name}")), None)
                    .await?,
            )
        })
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>();
    let labelled =
        async { Ok::<_, PlanError>(kube.list_service_accounts(None, Some(&label)).await?) };
    let (by_name, labelled) = futures::future::try_join(by_name, labelled).await?;
    let wanted: BTreeSet<(&str, &str)> = desired
        .targets
        .iter()
        .map(|t| (t.namespace.as_str(), t.service_account.as_str()))
        .collect();
    let accounts = by_name
        .into_iter()
        .flatten()
        .filter(|sa| wanted.contains(&(sa.namespace.as_str(), sa.name.as_str())))
        .map(|sa| ((sa.namespace.clone(), sa.name.clone()), sa))
        .collect();
    Ok((accounts, labelled))
}
