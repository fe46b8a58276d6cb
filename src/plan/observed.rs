//! Observed state: what AWS and Kubernetes hold now for the resources of a [`Desired`].

use futures::future::try_join_all;
use tracing::debug;

use super::desired::{ACCESS_KEY_ID_KEY, Desired, SECRET_ACCESS_KEY_KEY};
use super::PlanError;
use crate::aws::{AccessKeyInfo, Aws, Role, User};
use crate::kube::{Kube, SecretState};
use crate::secret::{KeyPair, SecretValue};

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
    Rejected { access_key_id: String, reason: String },
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
}

/// An observed node role and kfp-iam's inline policy on it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedNodeRole {
    pub name: String,
    pub exists: bool,
    pub inline_policy: Option<String>,
}

/// The current state of every resource the desired state names.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub user: Option<User>,
    pub user_policies: Vec<String>,
    pub keys: Vec<AccessKeyInfo>,
    pub namespace_exists: bool,
    pub secret: Option<SecretState>,
    pub key_health: KeyHealth,
    pub role: Option<Role>,
    pub role_policies: Vec<String>,
    pub node_roles: Vec<ObservedNodeRole>,
}

/// The key pair a Secret holds, when it holds both halves.
pub fn key_in_secret(secret: &SecretState) -> Option<KeyPair> {
    let id = secret.data.get(ACCESS_KEY_ID_KEY)?.expose().trim().to_owned();
    let secret_key = secret.data.get(SECRET_ACCESS_KEY_KEY)?.expose().trim().to_owned();
    if id.is_empty() || secret_key.is_empty() {
        return None;
    }
    Some(KeyPair { access_key_id: id, secret_access_key: SecretValue::new(secret_key) })
}

/// Reads everything `desired` names; independent reads run concurrently.
pub async fn observe(
    desired: &Desired,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<Observed, PlanError> {
    let user_side = observe_user(desired, aws, kube);
    let role_side = async {
        let role = aws.get_role(&desired.role).await?;
        let policies = match &role {
            Some(_) => aws.list_role_policies(&desired.role).await?,
            None => Vec::new(),
        };
        Ok::<_, PlanError>((role, policies))
    };
    let nodes = try_join_all(desired.node_roles.iter().map(|name| async move {
        let exists = aws.get_role(name).await?.is_some();
        let inline_policy = match exists {
            true => aws.get_role_inline_policy(name, &desired.node_policy_name).await?,
            false => None,
        };
        Ok::<_, PlanError>(ObservedNodeRole { name: name.clone(), exists, inline_policy })
    }));
    let (user, (role, role_policies), node_roles) =
        futures::future::try_join3(user_side, role_side, nodes).await?;
    let (user, user_policies, keys, namespace_exists, secret, key_health) = user;
    Ok(Observed {
        user,
        user_policies,
        keys,
        namespace_exists,
        secret,
        key_health,
        role,
        role_policies,
        node_roles,
    })
}

type UserSide =
    (Option<User>, Vec<String>, Vec<AccessKeyInfo>, bool, Option<SecretState>, KeyHealth);

async fn observe_user(
    desired: &Desired,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<UserSide, PlanError> {
    let ns = &desired.secret_namespace;
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
    let kube_reads = async {
        let (exists, secret) = futures::future::try_join(
            kube.namespace_exists(ns),
            kube.get_secret(ns, &desired.secret_name),
        )
        .await?;
        Ok::<_, PlanError>((exists, secret))
    };
    let ((user, policies, keys), (exists, secret)) =
        futures::future::try_join(aws_reads, kube_reads).await?;
    let health = key_health(user.as_ref(), &keys, secret.as_ref(), aws).await?;
    debug!(?health, "observed the secret's key");
    Ok((user, policies, keys, exists, secret, health))
}

/// Decides whether the Secret holds a working key of the user; asks STS only when the
/// listing says the key is the user's and active.
pub async fn key_health(
    user: Option<&User>,
    keys: &[AccessKeyInfo],
    secret: Option<&SecretState>,
    aws: &impl Aws,
) -> Result<KeyHealth, PlanError> {
    let Some(pair) = secret.and_then(key_in_secret) else { return Ok(KeyHealth::Missing) };
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
            Ok(KeyHealth::Rejected { access_key_id, reason })
        }
        Err(e) if e.kind == crate::aws::ErrorKind::AccessDenied => {
            Ok(KeyHealth::Rejected { access_key_id, reason: e.to_string() })
        }
        Err(e) => Err(e.into()),
    }
}
