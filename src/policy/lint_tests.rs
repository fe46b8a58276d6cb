//! Tests of each lint check, each with a case that fires and one that does not.

use super::*;
use crate::policy::generate::{self, Component, Scope};
use crate::policy::model::Statement;

const SAGEMAKER_FULL: &str = include_str!("testdata/AmazonSageMakerFullAccess.json");
const S3_FULL: &str = include_str!("testdata/AmazonS3FullAccess.json");
const ROLE: &str = "arn:aws:iam::111122223333:role/sagemaker-kfp-role";

fn identity(statements: Vec<Statement>) -> PolicyDocument {
    PolicyDocument::new(statements)
}

fn codes_of(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

fn lint_one(statement: Statement) -> Vec<Finding> {
    lint(&identity(vec![statement]), DocumentKind::Identity)
}

fn has(findings: &[Finding], code: &str) -> bool {
    findings.iter().any(|f| f.code == code)
}

#[test]
fn clean_statement_has_no_findings() {
    let st = Statement::allow(
        ["sagemaker:CreateTrainingJob"],
        ["arn:aws:sagemaker:us-west-2:111122223333:training-job/*"],
    )
    .with_sid("Train");
    assert_eq!(lint_one(st), []);
}

#[test]
fn unknown_action_of_a_known_service_is_an_error_with_a_suggestion() {
    let findings = lint_one(Statement::allow(["sagemaker:CreateTrainingJobs"], ["*"]));
    assert_eq!(codes_of(&findings), [codes::UNKNOWN_ACTION]);
    assert_eq!(findings[0].severity, Severity::Error);
    assert_eq!(findings[0].statement, Some(0));
    assert_eq!(
        findings[0].fix,
        "did you mean `sagemaker:CreateTrainingJob`?"
    );
    let far = lint_one(Statement::allow(["s3:Teleport"], ["*"]));
    assert!(far[0].fix.contains("service authorization reference"));
}

#[test]
fn known_actions_and_matching_wildcards_are_not_flagged() {
    let st = Statement::allow(["sagemaker:Describe*", "S3:getobject", "iam:Get*"], ["*"]);
    assert!(!has(&lint_one(st), codes::UNKNOWN_ACTION));
    let not_action = Statement::allow(["sagemaker:Frobnicate*"], ["*"]).negate_actions();
    assert!(has(&lint_one(not_action), codes::UNKNOWN_ACTION));
}

#[test]
fn service_outside_the_catalog_is_only_a_warning() {
    let findings = lint_one(Statement::allow(["dynamodb:GetItem"], ["*"]));
    assert_eq!(codes_of(&findings), [codes::UNKNOWN_SERVICE]);
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(findings[0].message.contains("not in catalog"));
    let many = lint_one(Statement::allow(
        [
            "glue:GetJob",
            "s3:GetObject",
            "glue:CreateJob",
            "fsx:Describe*",
        ],
        ["*"],
    ));
    let messages: Vec<&str> = many.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "service `glue` is not in catalog, so `glue:GetJob` and 1 more were not checked",
            "service `fsx` is not in catalog, so `fsx:Describe*` was not checked",
        ]
    );
    let known = lint_one(Statement::allow(["sts:GetCallerIdentity"], ["*"]));
    assert!(!has(&known, codes::UNKNOWN_SERVICE));
}

#[test]
fn action_without_service_prefix_is_malformed() {
    let findings = lint_one(Statement::allow(["CreateTrainingJob"], ["*"]));
    assert_eq!(codes_of(&findings), [codes::MALFORMED_ACTION]);
    assert!(!has(
        &lint_one(Statement::allow(["*"], ["*"])),
        codes::MALFORMED_ACTION
    ));
}

#[test]
fn pass_role_on_every_role_is_an_error() {
    for (action, resource) in [
        ("iam:PassRole", "*"),
        ("iam:*", "*"),
        ("*", "*"),
        ("iam:Pass*", "arn:aws:iam::111122223333:role/*"),
        ("iam:passrole", "arn:aws:iam::*:*"),
    ] {
        let findings = lint_one(Statement::allow([action], [resource]));
        let found: Vec<_> = findings
            .iter()
            .filter(|f| f.code == codes::PASSROLE_WILDCARD)
            .collect();
        assert_eq!(found.len(), 1, "{action} on {resource}");
        assert_eq!(found[0].severity, Severity::Error);
        assert!(found[0].fix.contains("iam:PassedToService"));
    }
}

#[test]
fn pass_role_via_not_action_or_not_resource_is_caught() {
    let not_action = Statement::allow(["s3:*"], ["*"]).negate_actions();
    assert!(has(&lint_one(not_action), codes::PASSROLE_WILDCARD));
    let not_resource = Statement::new(Effect::Allow, ["iam:PassRole"]).with_not_resources([ROLE]);
    assert!(has(&lint_one(not_resource), codes::PASSROLE_WILDCARD));
}

#[test]
fn pass_role_of_a_named_role_or_limited_service_is_not_an_error() {
    let named = Statement::allow(["iam:PassRole"], [ROLE]).with_condition(
        "StringEquals",
        "iam:PassedToService",
        ["sagemaker.amazonaws.com"],
    );
    assert_eq!(lint_one(named), []);
    let prefixed = Statement::allow(
        ["iam:PassRole"],
        ["arn:aws:iam::111122223333:role/sagemaker-*"],
    );
    assert!(!has(&lint_one(prefixed), codes::PASSROLE_WILDCARD));
    let limited = Statement::allow(["iam:PassRole"], ["*"]).with_condition(
        "StringEquals",
        "iam:PassedToService",
        ["sagemaker.amazonaws.com"],
    );
    let findings = lint_one(limited);
    assert_eq!(codes_of(&findings), [codes::PASSROLE_WILDCARD]);
    assert_eq!(findings[0].severity, Severity::Warning);
    let denied = Statement::deny(["iam:PassRole"], ["*"]);
    assert!(!has(&lint_one(denied), codes::PASSROLE_WILDCARD));
}

#[test]
fn wildcard_under_string_equals_is_a_warning() {
    for operator in [
        "StringEquals",
        "StringNotEquals",
        "ForAnyValue:StringEquals",
        "StringEqualsIfExists",
        "ArnEquals",
    ] {
        let st = Statement::allow(["s3:GetObject"], ["*"]).with_condition(
            operator,
            "aws:PrincipalArn",
            ["arn:aws:iam::111122223333:role/kfp-*"],
        );
        let findings = lint_one(st);
        assert_eq!(
            codes_of(&findings),
            [codes::WILDCARD_IN_STRING_EQUALS],
            "{operator}"
        );
        assert_eq!(findings[0].severity, Severity::Warning);
    }
}

#[test]
fn wildcards_under_like_operators_and_escaped_wildcards_are_fine() {
    let like = Statement::allow(["s3:GetObject"], ["*"]).with_condition(
        "StringLike",
        "s3:prefix",
        ["home/*"],
    );
    assert_eq!(lint_one(like), []);
    let escaped = Statement::allow(["s3:GetObject"], ["*"]).with_condition(
        "StringEquals",
        "s3:prefix",
        ["literal${*}star"],
    );
    assert_eq!(lint_one(escaped), []);
}

#[test]
fn placeholders_are_errors() {
    for resource in [
        "arn:aws:s3:::<bucket-name>/*",
        "arn:aws:iam::${ACCOUNT_ID}:role/x",
        "arn:aws:iam::$ACCOUNT_ID:role/x",
        "arn:aws:sagemaker:REGION:111122223333:endpoint/*",
        "arn:aws:iam::ACCOUNT_ID:role/x",
        "arn:aws:iam::acct-id:role/x",
        "arn:aws:s3:::{{ bucket }}",
        "arn:aws:s3:::YOUR_BUCKET/*",
    ] {
        let findings = lint_one(Statement::allow(["s3:GetObject"], [resource]));
        assert_eq!(codes_of(&findings), [codes::PLACEHOLDER], "{resource}");
        assert_eq!(findings[0].severity, Severity::Error, "{resource}");
    }
}

#[test]
fn example_account_id_is_a_placeholder_warning() {
    let st = Statement::allow(["iam:PassRole"], ["arn:aws:iam::123456789012:role/x"]);
    let findings = lint_one(st);
    assert_eq!(codes_of(&findings), [codes::PLACEHOLDER]);
    assert_eq!(findings[0].severity, Severity::Warning);
}

#[test]
fn policy_variables_and_real_values_are_not_placeholders() {
    let st = Statement::allow(
        ["s3:GetObject"],
        [
            "arn:aws:s3:::kfp-data/home/${aws:username}/*",
            "arn:aws:s3:::kfp-data/${aws:PrincipalTag/team, 'none'}/*",
            "arn:aws:s3:::kfp-data/literal-${*}-${?}-${$}",
            "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
            "arn:aws:sagemaker:*:*:endpoint/*",
            "arn:aws:iam::${aws:PrincipalAccount}:role/x",
        ],
    )
    .with_condition("StringEquals", "aws:RequestedRegion", ["us-west-2"]);
    assert_eq!(lint_one(st), []);
}

#[test]
fn placeholders_in_principals_conditions_and_id_are_found() {
    let trust = PolicyDocument::new(vec![
        Statement::allow_principal(
            Principal::aws(["arn:aws:iam::<ACCOUNT>:root"]),
            ["sts:AssumeRole"],
        )
        .with_condition("StringEquals", "sts:ExternalId", ["${EXTERNAL_ID}"]),
    ])
    .with_id("policy-for-YOUR_TEAM");
    let findings = lint(&trust, DocumentKind::Trust);
    assert_eq!(codes_of(&findings), [codes::PLACEHOLDER; 3]);
    assert_eq!(findings[2].statement, None);
}

#[test]
fn empty_actions_resources_and_principals_are_errors() {
    let no_actions = Statement::allow(Vec::<String>::new(), ["*"]);
    assert_eq!(codes_of(&lint_one(no_actions)), [codes::EMPTY_STATEMENT]);
    let no_resources = Statement::allow(["s3:GetObject"], Vec::<String>::new());
    assert_eq!(codes_of(&lint_one(no_resources)), [codes::EMPTY_STATEMENT]);
    let nobody = PolicyDocument::new(vec![Statement::allow_principal(
        Principal::aws(Vec::<String>::new()),
        ["sts:AssumeRole"],
    )]);
    let findings = lint(&nobody, DocumentKind::Trust);
    assert_eq!(codes_of(&findings), [codes::EMPTY_STATEMENT]);
}

#[test]
fn document_without_statements_is_an_error() {
    let findings = lint(
        &PolicyDocument::new(Vec::new()),
        DocumentKind::ManagedPolicy,
    );
    assert_eq!(codes_of(&findings), [codes::EMPTY_DOCUMENT]);
    assert_eq!(findings[0].statement, None);
}

#[test]
fn allow_cancelled_by_an_unconditional_deny_is_a_warning() {
    let doc = identity(vec![
        Statement::allow(
            ["s3:GetObject", "s3:PutObject"],
            ["arn:aws:s3:::kfp-data/*"],
        )
        .with_sid("Use"),
        Statement::deny(["s3:*"], ["arn:aws:s3:::kfp-*"]).with_sid("Block"),
    ]);
    let findings = lint(&doc, DocumentKind::Identity);
    assert_eq!(codes_of(&findings), [codes::CONTRADICTORY_STATEMENTS]);
    assert_eq!(findings[0].statement, Some(0));
    assert_eq!(findings[0].sid.as_deref(), Some("Use"));
    assert!(findings[0].message.contains("statement 1 (`Block`)"));
}

#[test]
fn partial_or_conditional_denies_do_not_contradict() {
    let allow = Statement::allow(
        ["s3:GetObject", "s3:ListBucket"],
        ["arn:aws:s3:::kfp-data/*"],
    );
    let partial_actions = Statement::deny(["s3:GetObject"], ["*"]);
    let partial_resources = Statement::deny(["s3:*"], ["arn:aws:s3:::kfp-data/private/*"]);
    let conditional =
        Statement::deny(["s3:*"], ["*"]).with_condition("Bool", "aws:SecureTransport", ["false"]);
    let single_char = Statement::deny(["s3:*"], ["arn:aws:s3:::kfp-data/?"]);
    for deny in [partial_actions, partial_resources, conditional, single_char] {
        let doc = identity(vec![allow.clone(), deny.clone()]);
        let findings = lint(&doc, DocumentKind::Identity);
        assert!(!has(&findings, codes::CONTRADICTORY_STATEMENTS), "{deny:?}");
    }
}

#[test]
fn identity_statement_with_principal_or_without_resource_is_an_error() {
    let with_principal =
        Statement::allow(["s3:GetObject"], ["*"]).with_principal(Principal::aws(["111122223333"]));
    assert_eq!(
        codes_of(&lint_one(with_principal)),
        [codes::UNEXPECTED_PRINCIPAL]
    );
    let without_resource = Statement::new(Effect::Allow, ["s3:GetObject"]);
    assert_eq!(
        codes_of(&lint_one(without_resource)),
        [codes::MISSING_RESOURCE]
    );
}

#[test]
fn trust_statement_needs_a_principal_and_no_resource() {
    let good = PolicyDocument::new(vec![Statement::allow_principal(
        Principal::service(["sagemaker.amazonaws.com"]),
        ["sts:AssumeRole"],
    )]);
    assert_eq!(lint(&good, DocumentKind::Trust), []);
    let bad = PolicyDocument::new(vec![Statement::allow(["sts:AssumeRole"], ["*"])]);
    let findings = lint(&bad, DocumentKind::Trust);
    assert_eq!(
        codes_of(&findings),
        [codes::MISSING_PRINCIPAL, codes::UNEXPECTED_RESOURCE]
    );
}

fn sized(statements: usize) -> PolicyDocument {
    let resources: Vec<String> = (0..20)
        .map(|i| format!("arn:aws:s3:::kfp-bucket-number-{i:04}/*"))
        .collect();
    let statement = Statement::allow(["s3:GetObject"], resources);
    PolicyDocument::new(vec![statement; statements])
}

#[test]
fn size_quotas_depend_on_the_document_kind() {
    let doc = sized(8);
    let size = doc.minified_len();
    assert!(
        size > MANAGED_POLICY_QUOTA && size < ROLE_INLINE_QUOTA,
        "{size}"
    );
    let managed = lint(&doc, DocumentKind::ManagedPolicy);
    assert!(has(&managed, codes::SIZE_QUOTA));
    assert!(managed[managed.len() - 1].message.contains("6144"));
    assert!(!has(&lint(&doc, DocumentKind::Inline), codes::SIZE_QUOTA));
    assert!(!has(&lint(&doc, DocumentKind::Identity), codes::SIZE_QUOTA));
    assert!(has(
        &lint(&sized(14), DocumentKind::Inline),
        codes::SIZE_QUOTA
    ));
    assert!(!has(
        &lint(&sized(1), DocumentKind::ManagedPolicy),
        codes::SIZE_QUOTA
    ));
}

#[test]
fn trust_policy_over_2048_mentions_the_raise_to_4096() {
    let ids: Vec<String> = (0..60)
        .map(|i| format!("arn:aws:iam::111122223333:role/kfp-caller-{i:03}"))
        .collect();
    let trust = PolicyDocument::new(vec![Statement::allow_principal(
        Principal::aws(ids),
        ["sts:AssumeRole"],
    )]);
    let findings = lint(&trust, DocumentKind::Trust);
    assert_eq!(codes_of(&findings), [codes::SIZE_QUOTA]);
    assert!(findings[0].fix.contains("4096"));
    let small = PolicyDocument::new(vec![Statement::allow_principal(
        Principal::service(["sagemaker.amazonaws.com"]),
        ["sts:AssumeRole"],
    )]);
    assert!(!has(&lint(&small, DocumentKind::Trust), codes::SIZE_QUOTA));
}

#[test]
fn inline_totals_are_checked_per_owner() {
    let small = sized(1);
    let medium = sized(5);
    assert!(small.minified_len() < USER_INLINE_QUOTA);
    assert_eq!(lint_inline_total(&[&medium, &medium]), []);
    let over = lint_inline_total(&[&medium, &medium, &medium]);
    assert_eq!(codes_of(&over), [codes::SIZE_QUOTA]);
    assert!(over[0].message.contains("3 inline policies of the role"));
    assert_eq!(lint_user_inline_total(&[&small]), []);
    assert_eq!(
        codes_of(&lint_user_inline_total(&[&small, &medium])),
        [codes::SIZE_QUOTA]
    );
}

#[test]
fn findings_serialize_with_stable_field_names() {
    let findings = lint_one(Statement::allow(["iam:PassRole"], ["*"]).with_sid("Pass"));
    let json = serde_json::to_value(&findings[0]).unwrap();
    assert_eq!(json["severity"], "error");
    assert_eq!(json["code"], "passrole-wildcard");
    assert_eq!(json["statement"], 0);
    assert_eq!(json["sid"], "Pass");
    assert!(json["message"].is_string() && json["fix"].is_string());
    let shown = findings[0].to_string();
    assert!(shown.starts_with("error[passrole-wildcard] statement 0 (`Pass`): "));
}

#[test]
fn managed_full_access_policies_show_their_broad_grants() {
    let sagemaker = PolicyDocument::parse(SAGEMAKER_FULL).unwrap();
    let findings = lint(&sagemaker, DocumentKind::ManagedPolicy);
    assert!(findings.iter().all(|f| f.severity == Severity::Warning
        || f.code == codes::SIZE_QUOTA
        || f.code == codes::UNKNOWN_ACTION));
    assert!(has(&findings, codes::PASSROLE_WILDCARD));
    let s3 = PolicyDocument::parse(S3_FULL).unwrap();
    let findings = lint(&s3, DocumentKind::ManagedPolicy);
    assert_eq!(codes_of(&findings), [codes::UNKNOWN_SERVICE]);
}

#[test]
fn generated_policies_lint_clean_and_fit_their_quotas() {
    let scope = Scope {
        partition: "aws".into(),
        account: "111122223333".into(),
        region: "us-west-2".into(),
        execution_role_arn: ROLE.into(),
        components: Component::ALL.to_vec(),
        buckets: vec!["kfp-data".into(), "kfp-artifacts".into()],
        endpoint_prefixes: vec!["kfp-".into()],
    };
    let pipeline = generate::pipeline_policy(&scope);
    let execution = generate::execution_role_policy(&scope);
    let node = generate::node_role_policy(&scope);
    let mut with_vpc = execution.clone();
    with_vpc
        .statements
        .extend(generate::execution_role_vpc_statements(&scope));
    for (doc, kind) in [
        (&pipeline, DocumentKind::ManagedPolicy),
        (&pipeline, DocumentKind::Inline),
        (&execution, DocumentKind::ManagedPolicy),
        (&with_vpc, DocumentKind::ManagedPolicy),
        (&node, DocumentKind::Inline),
    ] {
        assert_eq!(lint(doc, kind), [], "{}", doc.to_json_pretty());
    }
    assert_eq!(lint_inline_total(&[&pipeline, &with_vpc]), []);
    assert_eq!(lint_user_inline_total(&[&node]), []);
}
