//! Least-privilege policies for the pipeline identity, the SageMaker execution role and nodes.
//!
//! Every statement has a stable `Sid` starting with `KfpIam`, and the output depends only on
//! the [`Scope`]'s content: components, buckets and endpoint prefixes are sorted and
//! deduplicated first, so their order does not matter.
//!
//! The pipeline policy grants each chosen component's SageMaker (or RoboMaker) actions from
//! [`catalog::component`], one statement per resource type, each on the ARN pattern the catalog
//! gives for that type in this account and region. Actions without resource-level permissions
//! get a separate statement on `*`; actions whose resource types are all optional (such as
//! `sagemaker:AddTags`) are granted on the types the component creates. SageMaker writes
//! resource names into ARNs in lowercase, so endpoint prefixes are lowercased in ARNs.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::catalog::{self, Action, Service};
use super::model::{PolicyDocument, Statement};

/// Why a value could not become a generator input.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("unknown component `{value}`, expected one of {expected}")]
    ParseComponent { value: String, expected: String },
}

/// A Kubeflow Pipelines SageMaker component whose AWS calls the pipeline identity makes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    Training,
    Tuning,
    Processing,
    Model,
    Deploy,
    BatchTransform,
    GroundTruth,
    Workteam,
    RlEstimator,
    #[serde(rename = "robomaker")]
    RoboMaker,
}

impl Component {
    /// Every component, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Training,
        Self::Tuning,
        Self::Processing,
        Self::Model,
        Self::Deploy,
        Self::BatchTransform,
        Self::GroundTruth,
        Self::Workteam,
        Self::RlEstimator,
        Self::RoboMaker,
    ];

    /// The key used in specs and in `components.json`, e.g. `batch-transform`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Training => "training",
            Self::Tuning => "tuning",
            Self::Processing => "processing",
            Self::Model => "model",
            Self::Deploy => "deploy",
            Self::BatchTransform => "batch-transform",
            Self::GroundTruth => "ground-truth",
            Self::Workteam => "workteam",
            Self::RlEstimator => "rl-estimator",
            Self::RoboMaker => "robomaker",
        }
    }

    /// The `service:Action` names the component calls, sorted.
    pub fn actions(self) -> Vec<&'static str> {
        catalog::component(self.key())
            .map(|c| c.actions.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Component {
    type Err = GenerateError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.key() == value)
            .ok_or_else(|| GenerateError::ParseComponent {
                value: value.to_owned(),
                expected: Self::ALL.map(Component::key).join(", "),
            })
    }
}

/// What the generated policies are for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// The 12-digit account id.
    pub account: String,
    pub region: String,
    /// The role SageMaker components take as `role`; the only role the pipeline may pass.
    pub execution_role_arn: String,
    pub components: Vec<Component>,
    /// S3 bucket names (not ARNs) that pipelines and jobs read and write.
    pub buckets: Vec<String>,
    /// Endpoint name prefixes that deploy may manage and nodes may invoke; empty = all.
    pub endpoint_prefixes: Vec<String>,
}

/// Log groups of SageMaker jobs, which every execution role writes to.
const SAGEMAKER_LOGS: &str = "/aws/sagemaker/*";
/// Log group prefix of RoboMaker simulation jobs.
const ROBOMAKER_LOGS: &str = "/aws/robomaker/*";
/// CloudWatch metric namespaces of SageMaker jobs.
const SAGEMAKER_METRICS: &str = "/aws/sagemaker/*";

/// The pipeline identity's policy (an IAM user's or an IRSA/Pod Identity role's).
pub fn pipeline_policy(scope: &Scope) -> PolicyDocument {
    let components = sorted(&scope.components);
    let mut statements = component_statements(scope, &components);

    let log_groups: BTreeSet<String> = components
        .iter()
        .filter_map(|c| catalog::component(c.key()))
        .flat_map(|c| c.log_groups.iter().map(|g| log_group_prefix(g)))
        .collect();
    if !log_groups.is_empty() {
        let arns = log_groups.iter().map(|g| log_group_arn(scope, g));
        statements.push(
            Statement::allow(["logs:DescribeLogStreams", "logs:GetLogEvents"], arns)
                .with_sid("KfpIamReadJobLogs"),
        );
    }

    let services: BTreeSet<&str> = components
        .iter()
        .filter_map(|c| catalog::component(c.key()))
        .flat_map(|c| c.pass_role_to.iter().map(String::as_str))
        .collect();
    if !scope.execution_role_arn.is_empty() {
        for service in services {
            let name = service.split('.').next().unwrap_or_default();
            let sid = format!("KfpIamPassRoleTo{}", service_title(name));
            statements.push(
                Statement::allow(["iam:PassRole"], [scope.execution_role_arn.as_str()])
                    .with_sid(sid)
                    .with_condition("StringEquals", "iam:PassedToService", [service]),
            );
        }
    }

    statements.extend(s3_statements(scope));
    PolicyDocument::new(statements)
}

/// The SageMaker execution role's policy: its buckets, image pulls, logs and metrics.
pub fn execution_role_policy(scope: &Scope) -> PolicyDocument {
    let mut statements = s3_statements(scope);
    statements.push(
        Statement::allow(["ecr:GetAuthorizationToken"], ["*"]).with_sid("KfpIamEcrAuthorization"),
    );
    let repositories = format!(
        "arn:{}:ecr:{}:{}:repository/*",
        scope.partition, scope.region, scope.account
    );
    statements.push(
        Statement::allow(
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            [repositories],
        )
        .with_sid("KfpIamEcrPull"),
    );
    let mut log_groups = vec![log_group_arn(scope, SAGEMAKER_LOGS)];
    if scope.components.contains(&Component::RoboMaker) {
        log_groups.push(log_group_arn(scope, ROBOMAKER_LOGS));
    }
    statements.push(
        Statement::allow(
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            log_groups,
        )
        .with_sid("KfpIamWriteJobLogs"),
    );
    statements.push(
        Statement::allow(["cloudwatch:PutMetricData"], ["*"])
            .with_sid("KfpIamPutMetrics")
            .with_condition("StringLike", "cloudwatch:namespace", [SAGEMAKER_METRICS]),
    );
    PolicyDocument::new(statements)
}

/// Statements to add to the execution role when jobs run in a VPC: SageMaker creates network
/// interfaces in the job's subnets and security groups of this account and region.
pub fn execution_role_vpc_statements(scope: &Scope) -> Vec<Statement> {
    let arn = |kind: &str| {
        format!(
            "arn:{}:ec2:{}:{}:{kind}/*",
            scope.partition, scope.region, scope.account
        )
    };
    vec![
        Statement::allow(
            [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            ["*"],
        )
        .with_sid("KfpIamVpcDescribe"),
        Statement::allow(
            [
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            [
                arn("network-interface"),
                arn("security-group"),
                arn("subnet"),
            ],
        )
        .with_sid("KfpIamVpcNetworkInterfaces"),
    ]
}

/// The node roles' policy: `sagemaker:InvokeEndpoint` on this account's and region's
/// endpoints, or on those whose names start with one of the endpoint prefixes.
pub fn node_role_policy(scope: &Scope) -> PolicyDocument {
    PolicyDocument::new(vec![
        Statement::allow(["sagemaker:InvokeEndpoint"], endpoint_arns(scope))
            .with_sid("KfpIamInvokeEndpoint"),
    ])
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let set: BTreeSet<T> = items.iter().cloned().collect();
    set.into_iter().collect()
}

/// A statement being assembled: its sid, resources and actions.
struct Draft {
    sid: String,
    resources: Vec<String>,
    actions: BTreeSet<String>,
}

/// One statement per resource type the components' actions act on, in order of first use.
fn component_statements(scope: &Scope, components: &[Component]) -> Vec<Statement> {
    let mut drafts: Vec<Draft> = Vec::new();
    for component in components {
        let Some(data) = catalog::component(component.key()) else {
            continue;
        };
        for name in data.actions.keys() {
            let Some((service, action)) = catalog::lookup(name) else {
                continue;
            };
            let full = format!("{}:{}", service.prefix, action.name);
            let types = granted_types(service, action, &data.resource_types);
            let targets: Vec<(String, Vec<String>)> = if types.is_empty() {
                let sid = format!("KfpIam{}AnyResource", service_title(&service.prefix));
                vec![(sid, vec!["*".to_owned()])]
            } else {
                types
                    .iter()
                    .map(|t| (type_sid(service, t), type_arns(scope, service, t)))
                    .collect()
            };
            for (sid, resources) in targets {
                match drafts.iter_mut().find(|d| d.sid == sid) {
                    Some(draft) => {
                        draft.actions.insert(full.clone());
                    }
                    None => drafts.push(Draft {
                        sid,
                        resources,
                        actions: BTreeSet::from([full.clone()]),
                    }),
                }
            }
        }
    }
    drafts
        .into_iter()
        .map(|d| Statement::allow(d.actions, d.resources).with_sid(d.sid))
        .collect()
}

/// The resource types to grant an action on: its required ones; else, when all are optional,
/// those the component creates (or every optional one when it creates none of them); none
/// when the action supports only `*`.
fn granted_types<'a>(service: &Service, action: &'a Action, created: &[String]) -> Vec<&'a str> {
    let required: Vec<&str> = action.required_types().collect();
    if !required.is_empty() {
        return required;
    }
    let optional = action.resource_types.iter().map(|t| t.name.as_str());
    let own: Vec<&str> = optional
        .clone()
        .filter(|t| created.contains(&format!("{}:{t}", service.prefix)))
        .collect();
    if own.is_empty() {
        optional.collect()
    } else {
        own
    }
}

/// `KfpIam` + service + the ARN's resource kind, e.g. `KfpIamSageMakerTrainingJob`.
fn type_sid(service: &Service, resource_type: &str) -> String {
    // The ARN's resource segment (`training-job/...`) names the type more readably than the
    // catalog key (`simulationJob`).
    let segment = service
        .arn_format(resource_type)
        .and_then(|arn| arn.splitn(6, ':').nth(5))
        .and_then(|rest| rest.split(['/', ':']).next())
        .filter(|s| !s.is_empty() && !s.starts_with("${"))
        .unwrap_or(resource_type);
    format!("KfpIam{}{}", service_title(&service.prefix), camel(segment))
}

fn type_arns(scope: &Scope, service: &Service, resource_type: &str) -> Vec<String> {
    if service.prefix == "sagemaker" && resource_type == "endpoint" {
        return endpoint_arns(scope);
    }
    match service.arn_format(resource_type) {
        Some(format) => vec![fill_arn(format, scope)],
        None => vec!["*".to_owned()],
    }
}

fn endpoint_arns(scope: &Scope) -> Vec<String> {
    let base = format!(
        "arn:{}:sagemaker:{}:{}:endpoint/",
        scope.partition, scope.region, scope.account
    );
    let prefixes: BTreeSet<String> = scope
        .endpoint_prefixes
        .iter()
        .map(|p| p.to_lowercase())
        .collect();
    if prefixes.is_empty() {
        return vec![format!("{base}*")];
    }
    prefixes.iter().map(|p| format!("{base}{p}*")).collect()
}

/// Fills `${Partition}`, `${Region}` and `${Account}`; every other placeholder becomes `*`.
fn fill_arn(format: &str, scope: &Scope) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let body = &rest[start + 2..];
        let Some(end) = body.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(match &body[..end] {
            "Partition" => &scope.partition,
            "Region" => &scope.region,
            "Account" => &scope.account,
            _ => "*",
        });
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `/aws/sagemaker/TrainingJobs` -> `/aws/sagemaker/*`.
fn log_group_prefix(group: &str) -> String {
    let parts: Vec<&str> = group.split('/').filter(|s| !s.is_empty()).take(2).collect();
    format!("/{}/*", parts.join("/"))
}

fn log_group_arn(scope: &Scope, group: &str) -> String {
    format!(
        "arn:{}:logs:{}:{}:log-group:{group}",
        scope.partition, scope.region, scope.account
    )
}

fn s3_statements(scope: &Scope) -> Vec<Statement> {
    let buckets = sorted(&scope.buckets);
    if buckets.is_empty() {
        return Vec::new();
    }
    let arn = |b: &String| format!("arn:{}:s3:::{b}", scope.partition);
    vec![
        Statement::allow(
            ["s3:GetBucketLocation", "s3:ListBucket"],
            buckets.iter().map(arn),
        )
        .with_sid("KfpIamS3Buckets"),
        Statement::allow(
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            buckets.iter().map(|b| format!("{}/*", arn(b))),
        )
        .with_sid("KfpIamS3Objects"),
    ]
}

fn service_title(prefix: &str) -> String {
    match prefix {
        "sagemaker" => "SageMaker".to_owned(),
        "robomaker" => "RoboMaker".to_owned(),
        other => camel(other),
    }
}

/// `training-job` -> `TrainingJob`, keeping only ASCII letters and digits as Sids allow.
fn camel(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
