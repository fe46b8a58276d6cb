//! Static checks of IAM policy documents: unknown actions, risky grants, leftovers and quotas.
//!
//! [`lint`] returns findings in a fixed order: statement by statement (checks in the order of
//! [`codes`]), then whole-document findings. Each finding has a stable `code`, a message
//! naming what was found and a `fix` sentence. Sizes are counted as AWS counts them, without
//! whitespace ([`PolicyDocument::minified_len`]).

use std::fmt;

use serde::Serialize;

use super::catalog::{self, ActionKnown};
use super::model::{ActionSpec, Effect, PolicyDocument, Principal, PrincipalSpec, ResourceSpec};
use super::model::{Conditions, Statement};

/// Stable finding codes, in the order statement checks run.
pub mod codes {
    pub const MISSING_PRINCIPAL: &str = "missing-principal";
    pub const UNEXPECTED_RESOURCE: &str = "unexpected-resource";
    pub const UNEXPECTED_PRINCIPAL: &str = "unexpected-principal";
    pub const MISSING_RESOURCE: &str = "missing-resource";
    pub const EMPTY_STATEMENT: &str = "empty-statement";
    pub const MALFORMED_ACTION: &str = "malformed-action";
    pub const UNKNOWN_ACTION: &str = "unknown-action";
    pub const UNKNOWN_SERVICE: &str = "unknown-service";
    pub const PASSROLE_WILDCARD: &str = "passrole-wildcard";
    pub const WILDCARD_IN_STRING_EQUALS: &str = "wildcard-in-string-equals";
    pub const PLACEHOLDER: &str = "placeholder";
    pub const CONTRADICTORY_STATEMENTS: &str = "contradictory-statements";
    pub const EMPTY_DOCUMENT: &str = "empty-document";
    pub const SIZE_QUOTA: &str = "size-quota";
}

/// Characters (without whitespace) a managed policy may have.
pub const MANAGED_POLICY_QUOTA: usize = 6_144;
/// Characters all inline policies of one role may have together; also the most any identity
/// policy may have.
pub const ROLE_INLINE_QUOTA: usize = 10_240;
/// Characters all inline policies of one IAM user may have together.
pub const USER_INLINE_QUOTA: usize = 2_048;
/// Default characters of a role trust policy.
pub const TRUST_QUOTA: usize = 2_048;
/// The most AWS raises the trust policy quota to on request.
pub const TRUST_QUOTA_MAX: usize = 4_096;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// AWS rejects the document, or it grants what it should not, or it cannot work as meant.
    Error,
    /// Legal and working, but probably not what was meant.
    Warning,
}

/// What a document is, which decides its structure rules and its size quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// An identity-based policy whose attachment is not known: no principals, and at most
    /// the 10,240 characters of the largest identity policy.
    Identity,
    /// A role trust policy: principals and no resources; 2,048 characters by default.
    Trust,
    /// A customer managed policy: 6,144 characters.
    ManagedPolicy,
    /// One inline policy of a role: 10,240 characters; check several with
    /// [`lint_inline_total`] and a user's with [`lint_user_inline_total`].
    Inline,
}

/// One problem found in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable identifier, one of [`codes`].
    pub code: &'static str,
    /// Index of the statement, `None` for the whole document.
    pub statement: Option<usize>,
    pub sid: Option<String>,
    pub message: String,
    /// One sentence saying how to fix it.
    pub fix: String,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.severity, self.code)?;
        if let Some(index) = self.statement {
            write!(f, " statement {index}")?;
        }
        if let Some(sid) = &self.sid {
            write!(f, " (`{sid}`)")?;
        }
        write!(f, ": {}; fix: {}", self.message, self.fix)
    }
}

/// Checks one document as a document of `kind`.
pub fn lint(doc: &PolicyDocument, kind: DocumentKind) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, statement) in doc.statements.iter().enumerate() {
        let mut at = At {
            index,
            sid: statement.sid.clone(),
            findings: &mut findings,
        };
        check_structure(&mut at, statement, kind);
        check_empty(&mut at, statement);
        check_actions(&mut at, statement);
        if kind != DocumentKind::Trust {
            check_pass_role(&mut at, statement);
        }
        check_string_equals(&mut at, &statement.condition);
        check_placeholders(&mut at, statement);
        check_cancelled(&mut at, statement, &doc.statements);
    }
    if doc.statements.is_empty() {
        findings.push(document_finding(
            Severity::Error,
            codes::EMPTY_DOCUMENT,
            "policy has no statements".to_owned(),
            "add at least one statement, or do not create the policy",
        ));
    }
    if let Some(id) = &doc.id
        && let Some((severity, what)) = placeholder(id)
    {
        findings.push(document_finding(
            severity,
            codes::PLACEHOLDER,
            format!("`Id` has {what}"),
            "replace it with the real value",
        ));
    }
    findings.extend(check_size(doc, kind));
    findings
}

/// Checks the inline policies of one role together against the role's 10,240-character quota.
pub fn lint_inline_total(docs: &[&PolicyDocument]) -> Vec<Finding> {
    total_size(docs, ROLE_INLINE_QUOTA, "role")
}

/// Checks the inline policies of one IAM user together against the user's 2,048-character
/// quota.
pub fn lint_user_inline_total(docs: &[&PolicyDocument]) -> Vec<Finding> {
    total_size(docs, USER_INLINE_QUOTA, "user")
}

/// Where findings of one statement go.
struct At<'a> {
    index: usize,
    sid: Option<String>,
    findings: &'a mut Vec<Finding>,
}

impl At<'_> {
    fn push(&mut self, severity: Severity, code: &'static str, message: String, fix: &str) {
        self.findings.push(Finding {
            severity,
            code,
            statement: Some(self.index),
            sid: self.sid.clone(),
            message,
            fix: fix.to_owned(),
        });
    }
}

fn document_finding(severity: Severity, code: &'static str, message: String, fix: &str) -> Finding {
    Finding {
        severity,
        code,
        statement: None,
        sid: None,
        message,
        fix: fix.to_owned(),
    }
}

fn check_structure(at: &mut At, statement: &Statement, kind: DocumentKind) {
    if kind == DocumentKind::Trust {
        if statement.principal.is_none() {
            at.push(
                Severity::Error,
                codes::MISSING_PRINCIPAL,
                "trust policy statement names no `Principal`".to_owned(),
                "add a `Principal` naming who may assume the role",
            );
        }
        if statement.resource.is_some() {
            at.push(
                Severity::Error,
                codes::UNEXPECTED_RESOURCE,
                "trust policy statement has a `Resource`".to_owned(),
                "remove `Resource`: a trust policy applies to its own role",
            );
        }
        return;
    }
    if statement.principal.is_some() {
        at.push(
            Severity::Error,
            codes::UNEXPECTED_PRINCIPAL,
            "identity-based policy statement names a `Principal`".to_owned(),
            "remove `Principal`: the policy applies to whoever it is attached to",
        );
    }
    if statement.resource.is_none() {
        at.push(
            Severity::Error,
            codes::MISSING_RESOURCE,
            "identity-based policy statement has no `Resource`".to_owned(),
            "add `Resource` with the ARNs the actions may act on",
        );
    }
}

fn check_empty(at: &mut At, statement: &Statement) {
    if statement.action.patterns().is_empty() {
        at.push(
            Severity::Error,
            codes::EMPTY_STATEMENT,
            "statement lists no actions".to_owned(),
            "list the actions it should cover, or remove the statement",
        );
    }
    if statement
        .resource
        .as_ref()
        .is_some_and(|r| r.patterns().is_empty())
    {
        at.push(
            Severity::Error,
            codes::EMPTY_STATEMENT,
            "statement lists no resources".to_owned(),
            "list the resource ARNs it should cover, or remove the statement",
        );
    }
    let no_principals = match &statement.principal {
        Some(PrincipalSpec::Principal(Principal::Ids(ids)))
        | Some(PrincipalSpec::NotPrincipal(Principal::Ids(ids))) => {
            ids.values().all(|list| list.is_empty())
        }
        _ => false,
    };
    if no_principals {
        at.push(
            Severity::Error,
            codes::EMPTY_STATEMENT,
            "statement's `Principal` lists nobody".to_owned(),
            "name the principals, or remove the statement",
        );
    }
}

fn check_actions(at: &mut At, statement: &Statement) {
    // Actions of services outside the catalog, grouped by prefix: one warning per service.
    let mut unchecked: Vec<(&str, Vec<&str>)> = Vec::new();
    for action in statement.action.patterns() {
        match catalog::action_exists(action) {
            ActionKnown::Yes => {}
            ActionKnown::UnknownService if !action.contains(':') => at.push(
                Severity::Error,
                codes::MALFORMED_ACTION,
                format!("action `{action}` has no service prefix"),
                "write actions as `service:Action`, e.g. `sagemaker:CreateTrainingJob`",
            ),
            ActionKnown::UnknownService => {
                let prefix = action.split(':').next().unwrap_or_default();
                match unchecked.iter_mut().find(|(p, _)| *p == prefix) {
                    Some((_, actions)) => actions.push(action),
                    None => unchecked.push((prefix, vec![action])),
                }
            }
            ActionKnown::UnknownAction => {
                let fix = match suggestion(action) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "check the action name against the AWS service authorization \
                             reference"
                        .to_owned(),
                };
                at.push(
                    Severity::Error,
                    codes::UNKNOWN_ACTION,
                    format!("action `{action}` does not exist"),
                    &fix,
                );
            }
        }
    }
    for (prefix, actions) in unchecked {
        let what = match actions.as_slice() {
            [one] => format!("`{one}` was"),
            [first, rest @ ..] => format!("`{first}` and {} more were", rest.len()),
            [] => continue,
        };
        at.push(
            Severity::Warning,
            codes::UNKNOWN_SERVICE,
            format!("service `{prefix}` is not in catalog, so {what} not checked"),
            "check the service prefix against the AWS service authorization reference",
        );
    }
}

/// The closest catalog action to a misspelt one, if it is close.
fn suggestion(action: &str) -> Option<String> {
    let (prefix, name) = action.split_once(':')?;
    if name.contains(['*', '?']) {
        return None;
    }
    let service = catalog::service(prefix)?;
    let name = name.to_lowercase();
    let (distance, best) = service
        .actions()
        .map(|a| (edit_distance(&name, &a.name.to_lowercase()), &a.name))
        .min()?;
    (distance <= 3).then(|| format!("{}:{best}", service.prefix))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut next = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = row[j] + usize::from(ca != cb);
            next[j + 1] = substitute.min(row[j + 1] + 1).min(next[j] + 1);
        }
        row = next;
    }
    row[b.len()]
}

fn covers_action(spec: &ActionSpec, action: &str) -> bool {
    let listed = spec
        .patterns()
        .iter()
        .any(|p| catalog::action_matches(p, action));
    listed != matches!(spec, ActionSpec::NotAction(_))
}

/// Whether a resource pattern covers every IAM role of an account.
fn covers_every_role(pattern: &str) -> bool {
    let resource_part = pattern.splitn(6, ':').nth(5);
    pattern == "*"
        || resource_part
            .is_some_and(|part| catalog::action_matches(part, "role/kfp-iam-lint-probe"))
}

fn check_pass_role(at: &mut At, statement: &Statement) {
    if statement.effect != Effect::Allow || !covers_action(&statement.action, "iam:PassRole") {
        return;
    }
    let every_role = match &statement.resource {
        Some(ResourceSpec::Resource(list)) => list.iter().any(|r| covers_every_role(r)),
        Some(ResourceSpec::NotResource(_)) => true,
        None => false,
    };
    if !every_role {
        return;
    }
    let limited = statement.condition.values().any(|block| {
        block
            .keys()
            .any(|k| k.eq_ignore_ascii_case("iam:PassedToService"))
    });
    let (severity, message) = if limited {
        (
            Severity::Warning,
            "`iam:PassRole` is allowed on every role, though only to the services that \
             `iam:PassedToService` names",
        )
    } else {
        (
            Severity::Error,
            "`iam:PassRole` is allowed on every role and to any service",
        )
    };
    at.push(
        severity,
        codes::PASSROLE_WILDCARD,
        message.to_owned(),
        "name the role ARN in `Resource` and add a `StringEquals` condition on \
         `iam:PassedToService`",
    );
}

/// Operators that compare exactly, so `*` and `?` in their values are plain characters, and
/// the ARN operators, which match wildcards although their name says `Equals`.
fn exact_operator(operator: &str) -> Option<bool> {
    let base = operator
        .split_once(':')
        .map_or(operator, |(_, rest)| rest)
        .trim_end_matches("IfExists");
    match base {
        "StringEquals"
        | "StringNotEquals"
        | "StringEqualsIgnoreCase"
        | "StringNotEqualsIgnoreCase" => Some(true),
        "ArnEquals" | "ArnNotEquals" => Some(false),
        _ => None,
    }
}

fn check_string_equals(at: &mut At, conditions: &Conditions) {
    for (operator, block) in conditions {
        let Some(literal) = exact_operator(operator) else {
            continue;
        };
        for (key, values) in block {
            let wild = values.iter().find(|v| {
                let unescaped = v.replace("${*}", "").replace("${?}", "");
                unescaped.contains(['*', '?'])
            });
            let Some(value) = wild else {
                continue;
            };
            let (message, fix) = if literal {
                (
                    format!(
                        "`{operator}` on `{key}` compares `{value}` exactly, so its `*` or `?` \
                         is not a wildcard"
                    ),
                    "use `StringLike` (or `StringNotLike`) to match a pattern",
                )
            } else {
                (
                    format!("`{operator}` on `{key}` has the wildcard value `{value}`"),
                    "use `ArnLike` (or `ArnNotLike`), which says that it matches a pattern",
                )
            };
            at.push(
                Severity::Warning,
                codes::WILDCARD_IN_STRING_EQUALS,
                message,
                fix,
            );
        }
    }
}

/// Every string a person writes into a statement, with the element it is in.
fn statement_strings(statement: &Statement) -> Vec<(&'static str, &str)> {
    let mut out: Vec<(&'static str, &str)> = Vec::new();
    if let Some(sid) = &statement.sid {
        out.push(("Sid", sid));
    }
    out.extend(
        statement
            .action
            .patterns()
            .iter()
            .map(|a| ("Action", a.as_str())),
    );
    if let Some(resource) = &statement.resource {
        out.extend(resource.patterns().iter().map(|r| ("Resource", r.as_str())));
    }
    if let Some(
        PrincipalSpec::Principal(Principal::Ids(ids))
        | PrincipalSpec::NotPrincipal(Principal::Ids(ids)),
    ) = &statement.principal
    {
        out.extend(ids.values().flatten().map(|p| ("Principal", p.as_str())));
    }
    for block in statement.condition.values() {
        for (key, values) in block {
            out.push(("Condition", key));
            out.extend(values.iter().map(|v| ("Condition", v.as_str())));
        }
    }
    out
}

fn check_placeholders(at: &mut At, statement: &Statement) {
    for (element, text) in statement_strings(statement) {
        if let Some((severity, what)) = placeholder(text) {
            let fix = match severity {
                Severity::Error => "replace it with the real value before applying the policy",
                Severity::Warning => "replace it with your own account id",
            };
            at.push(
                severity,
                codes::PLACEHOLDER,
                format!("`{element}` value `{text}` has {what}"),
                fix,
            );
        }
    }
}

/// Words that stand for a value someone forgot to fill in.
const PLACEHOLDER_WORDS: &[&str] = &[
    "ACCOUNT_ID",
    "ACCOUNTID",
    "AWS_ACCOUNT_ID",
    "AWS_REGION",
    "REGION",
    "PARTITION",
];

/// AWS's documentation example account id.
const EXAMPLE_ACCOUNT: &str = "123456789012";

/// What in `text` looks like an unfilled placeholder. Policy variables such as
/// `${aws:username}` (their names always have a colon) and the escapes `${*}`, `${?}` and
/// `${$}` are not placeholders.
fn placeholder(text: &str) -> Option<(Severity, String)> {
    if let Some(start) = text.find('<')
        && text[start..].find('>').is_some_and(|end| end > 1)
    {
        return Some((Severity::Error, "a `<...>` placeholder".to_owned()));
    }
    if text.contains("{{") && text.contains("}}") {
        return Some((
            Severity::Error,
            "a `{{...}}` template placeholder".to_owned(),
        ));
    }
    let mut outside = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        outside.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Some((Severity::Error, "an unclosed `${`".to_owned()));
            };
            let name = &body[..end];
            if !name.contains(':') && !matches!(name, "*" | "?" | "$") {
                return Some((Severity::Error, format!("the shell variable `${{{name}}}`")));
            }
            outside.push(' ');
            rest = &body[end + 1..];
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.chars().next().is_some_and(|c| !c.is_ascii_digit()) {
                return Some((Severity::Error, format!("the shell variable `${name}`")));
            }
            outside.push('$');
            rest = after;
        }
    }
    outside.push_str(rest);
    if let Some(found) = arn_placeholder(text) {
        return Some(found);
    }
    let words = outside.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    for word in words {
        if PLACEHOLDER_WORDS.contains(&word) || word.starts_with("YOUR_") {
            return Some((Severity::Error, format!("the placeholder `{word}`")));
        }
        if word == EXAMPLE_ACCOUNT {
            return Some((
                Severity::Warning,
                format!("AWS's documentation example account id `{EXAMPLE_ACCOUNT}`"),
            ));
        }
    }
    None
}

/// An account or region part of an ARN that cannot be one, e.g. `arn:aws:iam::acct-id:...`.
fn arn_placeholder(text: &str) -> Option<(Severity, String)> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let ["arn", _, _, region, account, _] = parts.as_slice() else {
        return None;
    };
    let free = |part: &str| part.is_empty() || part.contains(['*', '?']) || part.contains("${");
    let is_region = region
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !free(region) && !is_region {
        return Some((
            Severity::Error,
            format!("`{region}` where the ARN's region belongs"),
        ));
    }
    let is_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if !free(account) && !is_account && *account != "aws" {
        return Some((
            Severity::Error,
            format!("`{account}` where the ARN's 12-digit account id belongs"),
        ));
    }
    None
}

/// Whether every string `inner` matches is also matched by `outer`: `inner`'s wildcards must
/// be met by a `*` of `outer`, and `?` in `outer` matches one plain character only.
fn pattern_covers(outer: &str, inner: &str, fold_case: bool) -> bool {
    let fold = |s: &str| {
        if fold_case {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    };
    let outer: Vec<char> = fold(outer).chars().collect();
    let inner: Vec<char> = fold(inner).chars().collect();
    // row[j]: outer[..i] covers inner[..j].
    let mut row = vec![false; inner.len() + 1];
    row[0] = true;
    for &p in &outer {
        let mut next = vec![false; inner.len() + 1];
        if p == '*' {
            next[0] = row[0];
            for j in 0..inner.len() {
                next[j + 1] = row[j + 1] || next[j];
            }
        } else {
            for (j, &c) in inner.iter().enumerate() {
                let plain = c != '*' && c != '?';
                next[j + 1] = row[j] && ((p == '?' && plain) || (p == c && p != '?'));
            }
        }
        row = next;
    }
    row[inner.len()]
}

fn list_covered(outer: &[String], inner: &[String], fold_case: bool) -> bool {
    inner
        .iter()
        .all(|i| outer.iter().any(|o| pattern_covers(o, i, fold_case)))
}

/// Whether `deny` applies to every request `allow` would allow.
fn cancels(deny: &Statement, allow: &Statement) -> bool {
    if deny.effect != Effect::Deny || !deny.condition.is_empty() {
        return false;
    }
    let actions = match (&deny.action, &allow.action) {
        (ActionSpec::Action(d), ActionSpec::Action(a)) => list_covered(d, a, true),
        _ => false,
    };
    let resources = match (&deny.resource, &allow.resource) {
        (None, None) => true,
        (Some(ResourceSpec::Resource(d)), Some(ResourceSpec::Resource(a))) => {
            list_covered(d, a, false)
        }
        _ => false,
    };
    let principals = match (&deny.principal, &allow.principal) {
        (None, _) | (Some(PrincipalSpec::Principal(Principal::Any)), _) => true,
        (d, a) => d == a,
    };
    actions && resources && principals
}

fn check_cancelled(at: &mut At, statement: &Statement, all: &[Statement]) {
    if statement.effect != Effect::Allow || statement.action.patterns().is_empty() {
        return;
    }
    let deny = all
        .iter()
        .enumerate()
        .find(|(_, other)| cancels(other, statement));
    if let Some((index, deny)) = deny {
        let name = match &deny.sid {
            Some(sid) => format!("statement {index} (`{sid}`)"),
            None => format!("statement {index}"),
        };
        at.push(
            Severity::Warning,
            codes::CONTRADICTORY_STATEMENTS,
            format!("this allow is entirely cancelled by the unconditional deny in {name}"),
            "remove the allow, or narrow the deny so that it leaves something allowed",
        );
    }
}

fn check_size(doc: &PolicyDocument, kind: DocumentKind) -> Option<Finding> {
    let size = doc.minified_len();
    let (quota, what, fix) = match kind {
        DocumentKind::Identity => (
            ROLE_INLINE_QUOTA,
            "the largest identity policy AWS allows",
            "split the policy or use wildcards that keep it least-privilege".to_owned(),
        ),
        DocumentKind::ManagedPolicy => (
            MANAGED_POLICY_QUOTA,
            "the managed policy quota",
            "split it into several managed policies (a role can have 20 attached)".to_owned(),
        ),
        DocumentKind::Inline => (
            ROLE_INLINE_QUOTA,
            "the role inline policy quota",
            "move statements to a managed policy".to_owned(),
        ),
        DocumentKind::Trust => (
            TRUST_QUOTA,
            "the default trust policy quota",
            format!(
                "shorten it, or ask AWS through Service Quotas to raise the role trust policy \
                 length, which can go up to {TRUST_QUOTA_MAX}"
            ),
        ),
    };
    (size > quota).then(|| {
        document_finding(
            Severity::Error,
            codes::SIZE_QUOTA,
            format!("policy is {size} characters without whitespace, over {what} of {quota}"),
            &fix,
        )
    })
}

fn total_size(docs: &[&PolicyDocument], quota: usize, owner: &str) -> Vec<Finding> {
    let size: usize = docs.iter().map(|d| d.minified_len()).sum();
    if size <= quota {
        return Vec::new();
    }
    vec![document_finding(
        Severity::Error,
        codes::SIZE_QUOTA,
        format!(
            "the {count} inline policies of the {owner} total {size} characters without \
             whitespace, over the {owner}'s inline quota of {quota}",
            count = docs.len()
        ),
        "move statements to managed policies, which do not count against this quota",
    )]
}

#[cfg(test)]
#[path = "lint_tests.rs"]
mod tests;
