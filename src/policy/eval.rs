//! Decides whether IAM policies allow a request, by AWS's single-account evaluation logic.
//!
//! Covered: identity-based policies, one permissions boundary and resource-based policies
//! (including role trust policies); explicit deny overrides every allow; an allow from either
//! identity or resource policies suffices, but identity allows (and resource allows granted to a
//! role ARN, an account or a wildcard rather than to the calling user or session) must also be
//! allowed by the boundary. Not covered: SCPs, RCPs, session policies and cross-account access.
//!
//! Whatever this module cannot decide faithfully (an unknown operator, a policy variable where
//! AWS allows none, a multivalued key without a set operator, ...) is an [`EvalError`], never a
//! guessed allow or deny.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::model::{
    ActionSpec, Conditions, Effect, PolicyDocument, Principal, PrincipalKind, PrincipalSpec,
    ResourceSpec, Statement, VERSION_2012_10_17,
};

/// Why a request could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    // The reason is in the message, not a `source`, so `to_string()` alone explains it.
    #[error("cannot evaluate statement {index} of `{policy}`: {reason}")]
    Statement {
        policy: String,
        index: usize,
        reason: Box<EvalError>,
    },
    #[error("unsupported condition operator `{operator}`")]
    UnknownOperator { operator: String },
    #[error("policy variable in `{value}` is not allowed in {element}")]
    VariableNotAllowed {
        element: &'static str,
        value: String,
    },
    #[error("policy variable in `{value}` comes before the resource part of the arn")]
    VariableOutsideResourcePart { value: String },
    #[error("malformed policy variable in `{value}`")]
    MalformedVariable { value: String },
    #[error("context key `{key}` has several values, so it cannot be a policy variable")]
    MultiValuedVariable { key: String },
    #[error("context key `{key}` has several values; `{operator}` needs a set operator")]
    MultiValuedKey { operator: String, key: String },
    #[error("`{value}` is not a valid {expected} for `{operator}`")]
    InvalidPolicyValue {
        operator: String,
        value: String,
        expected: &'static str,
    },
    #[error("context key `{key}` is `{value}`, which is not a valid {expected}")]
    InvalidContextValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("principal `{value}` has a wildcard, which aws allows only as a lone `*`")]
    WildcardInPrincipal { value: String },
    #[error("identity-based policy statement names a principal")]
    PrincipalInIdentityPolicy,
    #[error("resource-based policy statement names no principal")]
    MissingPrincipal,
    #[error("identity-based policy statement has no `Resource` or `NotResource`")]
    MissingResource,
}

/// A policy document with the name (or ARN) that decisions cite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPolicy {
    pub name: String,
    pub document: PolicyDocument,
}

impl NamedPolicy {
    pub fn new(name: impl Into<String>, document: PolicyDocument) -> Self {
        Self {
            name: name.into(),
            document,
        }
    }
}

/// Every policy that applies to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySet {
    /// Inline and attached managed policies of the calling user or role.
    pub identity: Vec<NamedPolicy>,
    /// The permissions boundary of the calling user or role.
    pub boundary: Option<NamedPolicy>,
    /// Policies on the resource, e.g. a bucket policy or a role trust policy.
    pub resource: Vec<NamedPolicy>,
}

/// Who makes a request, as resource-based policies see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPrincipal {
    /// An account id, or the ARN of an account root, IAM user, IAM role, assumed-role session
    /// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) or federated user session.
    Aws(String),
    /// A service principal such as `sagemaker.amazonaws.com`.
    Service(String),
    /// An identity provider: an OIDC or SAML provider ARN or a name like `accounts.google.com`.
    Federated(String),
    /// An S3 canonical user id.
    CanonicalUser(String),
}

/// Condition keys of a request, matched case-insensitively, each with one or more values.
/// Policy variables such as `${aws:username}` or `${aws:PrincipalTag/team}` read them too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key to one value.
    pub fn with(self, key: &str, value: impl Into<String>) -> Self {
        self.with_values(key, [value.into()])
    }

    /// Sets a key to several values (a multivalued key, for `ForAnyValue:`/`ForAllValues:`).
    pub fn with_values<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        key: &str,
        values: I,
    ) -> Self {
        self.insert(key, values);
        self
    }

    /// Sets a key, replacing what it had; an empty list counts as an absent key.
    pub fn insert<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, key: &str, values: I) {
        let values = values.into_iter().map(Into::into).collect();
        self.entries.insert(key.to_lowercase(), values);
    }

    /// The values of a key, `None` when it is absent or empty.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .get(&key.to_lowercase())
            .map(Vec::as_slice)
            .filter(|v| !v.is_empty())
    }
}

/// One request to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The caller; `None` is an anonymous caller. Identity-based policies ignore it.
    pub principal: Option<RequestPrincipal>,
    /// `service:Action`, e.g. `sagemaker:CreateTrainingJob`.
    pub action: String,
    /// The resource ARN, or `*` for actions without resource-level permissions.
    pub resource: String,
    pub context: Context,
}

impl Request {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        let (action, resource) = (action.into(), resource.into());
        Self {
            principal: None,
            action,
            resource,
            context: Context::new(),
        }
    }

    pub fn with_principal(mut self, principal: RequestPrincipal) -> Self {
        self.principal = Some(principal);
        self
    }

    pub fn with_context(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context.insert(key, [value.into()]);
        self
    }

    pub fn with_context_values<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.context.insert(key, values);
        self
    }
}

/// The final answer for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// A statement of a named policy, numbered from 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatementRef {
    pub policy: String,
    pub index: usize,
    pub sid: Option<String>,
}

/// An outcome with the statements behind it.
///
/// `deciding` lists, for `Allow`, every allow statement that granted the request (boundary
/// statements included when the boundary had to agree); for `ExplicitDeny`, every matching deny
/// statement; for `ImplicitDeny`, the allow statements that the permissions boundary cut off
/// (empty when nothing allowed the request at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub deciding: Vec<StatementRef>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "allow",
            Self::ExplicitDeny => "explicit deny",
            Self::ImplicitDeny => "implicit deny",
        })
    }
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` statement {}", self.policy, self.index)?;
        match &self.sid {
            Some(sid) => write!(f, " (`{sid}`)"),
            None => Ok(()),
        }
    }
}

/// Evaluates a request against every policy that applies to it.
pub fn evaluate(policies: &PolicySet, request: &Request) -> Result<Decision, EvalError> {
    let mut identity = Vec::new();
    for policy in &policies.identity {
        identity.extend(matching(policy, Kind::Identity, request)?);
    }
    let boundary = match &policies.boundary {
        Some(policy) => Some(matching(policy, Kind::Identity, request)?),
        None => None,
    };
    let mut resource = Vec::new();
    for policy in &policies.resource {
        resource.extend(matching(policy, Kind::Resource, request)?);
    }

    let all = identity
        .iter()
        .chain(boundary.iter().flatten())
        .chain(&resource);
    let denies: Vec<_> = all
        .filter(|m| m.effect == Effect::Deny)
        .map(|m| m.at.clone())
        .collect();
    if !denies.is_empty() {
        return Ok(Decision {
            outcome: Outcome::ExplicitDeny,
            deciding: denies,
        });
    }

    // No deny matched, so every remaining hit is an allow.
    let refs = |hits: &[Hit]| hits.iter().map(|h| h.at.clone()).collect::<Vec<_>>();
    let Some(boundary) = boundary else {
        let deciding = [refs(&identity), refs(&resource)].concat();
        let outcome = if deciding.is_empty() {
            Outcome::ImplicitDeny
        } else {
            Outcome::Allow
        };
        return Ok(Decision { outcome, deciding });
    };

    // A boundary limits identity allows and resource allows granted to anything but the caller
    // itself (its user or session ARN); an implicit deny in the boundary stops those.
    let (direct, via_role): (Vec<Hit>, Vec<Hit>) = resource.into_iter().partition(|h| h.direct);
    let limited = [refs(&identity), refs(&via_role)].concat();
    let mut deciding = refs(&direct);
    if boundary.is_empty() || limited.is_empty() {
        let outcome = if deciding.is_empty() {
            Outcome::ImplicitDeny
        } else {
            Outcome::Allow
        };
        // With nothing direct, name the allows the boundary cut off.
        let deciding = if deciding.is_empty() {
            limited
        } else {
            deciding
        };
        return Ok(Decision { outcome, deciding });
    }
    deciding.extend(limited);
    deciding.extend(refs(&boundary));
    Ok(Decision {
        outcome: Outcome::Allow,
        deciding,
    })
}

/// Evaluates a role trust policy alone, as AWS does for `sts:AssumeRole*`: the trust policy
/// must allow the principal, with no identity-based policy needed.
pub fn evaluate_trust(
    trust: &PolicyDocument,
    principal: &RequestPrincipal,
    action: &str,
    context: &Context,
) -> Result<Decision, EvalError> {
    let policies = PolicySet {
        resource: vec![NamedPolicy::new("trust policy", trust.clone())],
        ..PolicySet::default()
    };
    let request = Request {
        principal: Some(principal.clone()),
        action: action.to_owned(),
        resource: "*".to_owned(),
        context: context.clone(),
    };
    evaluate(&policies, &request)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Identity,
    Resource,
}

/// A statement that applies to the request.
#[derive(Debug, Clone)]
struct Hit {
    at: StatementRef,
    effect: Effect,
    /// The statement named the caller's own user or session ARN (resource policies only).
    direct: bool,
}

fn matching(policy: &NamedPolicy, kind: Kind, request: &Request) -> Result<Vec<Hit>, EvalError> {
    let vars = policy.document.version.as_deref() == Some(VERSION_2012_10_17);
    let mut hits = Vec::new();
    for (index, statement) in policy.document.statements.iter().enumerate() {
        let wrap = |reason| EvalError::Statement {
            policy: policy.name.clone(),
            index,
            reason: Box::new(reason),
        };
        if let Some(direct) = applies(statement, kind, vars, request).map_err(wrap)? {
            let sid = statement.sid.clone();
            let at = StatementRef {
                policy: policy.name.clone(),
                index,
                sid,
            };
            hits.push(Hit {
                at,
                effect: statement.effect,
                direct,
            });
        }
    }
    Ok(hits)
}

/// `Some(direct)` when the statement applies to the request, `None` when it does not.
fn applies(
    statement: &Statement,
    kind: Kind,
    vars: bool,
    request: &Request,
) -> Result<Option<bool>, EvalError> {
    if !action_matches(&statement.action, &request.action, vars)? {
        return Ok(None);
    }

    let direct = match (kind, &statement.principal) {
        (Kind::Identity, Some(_)) => return Err(EvalError::PrincipalInIdentityPolicy),
        (Kind::Identity, None) => false,
        (Kind::Resource, None) => return Err(EvalError::MissingPrincipal),
        (Kind::Resource, Some(spec)) => {
            match principal_spec_matches(spec, request.principal.as_ref())? {
                Some(direct) => direct,
                None => return Ok(None),
            }
        }
    };

    // Role trust policies have no Resource: the statement covers the resource it is on.
    let covered = match (&statement.resource, kind) {
        (None, Kind::Identity) => return Err(EvalError::MissingResource),
        (None, Kind::Resource) => true,
        (Some(spec), _) => resource_matches(spec, &request.resource, &request.context, vars)?,
    };
    if !covered || !conditions_hold(&statement.condition, &request.context, vars)? {
        return Ok(None);
    }
    Ok(Some(direct))
}

fn action_matches(spec: &ActionSpec, action: &str, vars: bool) -> Result<bool, EvalError> {
    let text: Vec<char> = action.chars().collect();
    let mut any = false;
    for pattern in spec.patterns() {
        if vars && pattern.contains("${") {
            let value = pattern.clone();
            return Err(EvalError::VariableNotAllowed {
                element: "`Action`",
                value,
            });
        }
        if any || other_service(pattern, action) {
            continue;
        }
        let tokens = literal_tokens(pattern, true);
        any = glob(&tokens, &text, Match::Action);
    }
    Ok(any != matches!(spec, ActionSpec::NotAction(_)))
}

/// Whether a pattern's service prefix, free of wildcards, differs from the action's: a quick
/// no-match that spares the wildcard matcher most patterns of large policies. ASCII only, so
/// that it agrees with the matcher's Unicode case folding.
fn other_service(pattern: &str, action: &str) -> bool {
    match (pattern.split_once(':'), action.split_once(':')) {
        (Some((wanted, _)), Some((service, _))) => {
            wanted.is_ascii()
                && service.is_ascii()
                && !wanted.contains(['*', '?'])
                && !wanted.eq_ignore_ascii_case(service)
        }
        _ => false,
    }
}

fn resource_matches(
    spec: &ResourceSpec,
    resource: &str,
    context: &Context,
    vars: bool,
) -> Result<bool, EvalError> {
    let text: Vec<char> = resource.chars().collect();
    let mut any = false;
    for pattern in spec.patterns() {
        // A pattern with an unresolvable variable matches no resource, as AWS documents.
        // Every pattern is expanded, so that a bad one is an error even after a match.
        if let Some(tokens) = expand(pattern, context, vars, Mode::Resource)?
            && !any
        {
            any = glob(&tokens, &text, Match::Resource);
        }
    }
    Ok(any != matches!(spec, ResourceSpec::NotResource(_)))
}

/// How strongly a principal entry identifies the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Identifies {
    No,
    /// Through a wildcard, its account or its role.
    Indirectly,
    /// By the caller's own ARN or id.
    Directly,
}

/// `Some(direct)` when the principal element covers the caller.
fn principal_spec_matches(
    spec: &PrincipalSpec,
    caller: Option<&RequestPrincipal>,
) -> Result<Option<bool>, EvalError> {
    // TODO(#4): AWS may check NotPrincipal against the caller's account and role separately
    // from its session; this treats it as the plain negation of Principal.
    Ok(match spec {
        PrincipalSpec::Principal(p) => match identifies(p, caller)? {
            Identifies::No => None,
            how => Some(how == Identifies::Directly),
        },
        PrincipalSpec::NotPrincipal(p) => match identifies(p, caller)? {
            Identifies::No => Some(false),
            _ => None,
        },
    })
}

fn identifies(
    principal: &Principal,
    caller: Option<&RequestPrincipal>,
) -> Result<Identifies, EvalError> {
    let ids = match principal {
        Principal::Any => return Ok(Identifies::Indirectly),
        Principal::Ids(ids) => ids,
    };
    let mut best = Identifies::No;
    for (kind, entries) in ids {
        for entry in entries {
            // AWS documents `{"AWS": "*"}` as equivalent to `"*"`.
            if *kind == PrincipalKind::Aws && entry == "*" {
                best = best.max(Identifies::Indirectly);
                continue;
            }
            if entry.contains(['*', '?']) {
                return Err(EvalError::WildcardInPrincipal {
                    value: entry.clone(),
                });
            }
            let found = match (kind, caller) {
                (PrincipalKind::Aws, Some(RequestPrincipal::Aws(arn))) => {
                    aws_identifies(entry, arn)
                }
                (PrincipalKind::Service, Some(RequestPrincipal::Service(id)))
                | (PrincipalKind::Federated, Some(RequestPrincipal::Federated(id)))
                | (PrincipalKind::CanonicalUser, Some(RequestPrincipal::CanonicalUser(id)))
                    if id == entry =>
                {
                    Identifies::Directly
                }
                _ => Identifies::No,
            };
            best = best.max(found);
        }
    }
    Ok(best)
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The partition and account of an ARN, or of a bare account id.
fn partition_account(arn: &str) -> Option<(&str, &str)> {
    if is_account_id(arn) {
        return Some(("aws", arn));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, _, _, account, _] => Some((partition, account)),
        _ => None,
    }
}

/// Matches an `AWS` principal entry against the caller's ARN (or account id).
fn aws_identifies(entry: &str, caller: &str) -> Identifies {
    let Some((partition, account)) = partition_account(caller) else {
        return if entry == caller {
            Identifies::Directly
        } else {
            Identifies::No
        };
    };

    // An account id or root ARN delegates to every principal of that account.
    let root = format!("arn:{partition}:iam::{account}:root");
    if entry == account || (entry == root && !caller.ends_with(":root")) {
        return Identifies::Indirectly;
    }
    if entry == caller {
        // A grant to a role ARN stays subject to the boundary; one to a user, session or
        // root is the caller's own.
        let is_role = caller
            .split(':')
            .nth(5)
            .is_some_and(|r| r.starts_with("role/"));
        return if is_role {
            Identifies::Indirectly
        } else {
            Identifies::Directly
        };
    }

    // A role ARN (with any path) covers its assumed-role sessions.
    let session = format!("arn:{partition}:sts::{account}:assumed-role/");
    let role = format!("arn:{partition}:iam::{account}:role/");
    match (caller.strip_prefix(&session), entry.strip_prefix(&role)) {
        (Some(rest), Some(role_path)) => {
            let role_name = rest.split('/').next().unwrap_or_default();
            let entry_name = role_path.rsplit('/').next().unwrap_or_default();
            if !role_name.is_empty() && role_name == entry_name {
                Identifies::Indirectly
            } else {
                Identifies::No
            }
        }
        _ => Identifies::No,
    }
}

/// A piece of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters.
    Many,
    /// `?`: any one character.
    One,
}

/// The wildcard rules of a policy element or operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Case-insensitive.
    Action,
    /// Case-sensitive with ARN segment rules: `?` and a `*` followed by more of its segment do
    /// not match `:`, while a `*` that ends a segment may expand across colons.
    Resource,
    /// Case-sensitive, as `StringLike` and each `ArnLike` segment.
    Text,
}

fn literal_tokens(text: &str, wildcards: bool) -> Vec<Token> {
    text.chars()
        .map(|c| match c {
            '*' if wildcards => Token::Many,
            '?' if wildcards => Token::One,
            c => Token::Char(c),
        })
        .collect()
}

fn chars_equal(a: char, b: char, fold_case: bool) -> bool {
    if a == b || !fold_case {
        return a == b;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(&b);
    }
    a.to_lowercase().eq(b.to_lowercase())
}

/// Wildcard matching by dynamic programming over pattern prefixes, linear in memory.
fn glob(pattern: &[Token], text: &[char], how: Match) -> bool {
    let (fold_case, segments) = (how == Match::Action, how == Match::Resource);
    // The literal characters before the first wildcard and after the last one can only match
    // the ends of the text: comparing them first rejects most patterns of a large policy
    // (another service, another resource type) without filling a row.
    let same = |tokens: &[Token], chars: &[char]| {
        let equal =
            |(t, c): (&Token, &char)| matches!(t, Token::Char(p) if chars_equal(*p, *c, fold_case));
        tokens.len() == chars.len() && tokens.iter().zip(chars).all(equal)
    };
    let literal = |t: &&Token| matches!(t, Token::Char(_));
    let head = pattern.iter().take_while(literal).count();
    if head == pattern.len() {
        return same(pattern, text);
    }
    let tail = pattern.iter().rev().take_while(literal).count();
    if head + tail > text.len()
        || !same(&pattern[..head], &text[..head])
        || !same(&pattern[pattern.len() - tail..], &text[text.len() - tail..])
    {
        return false;
    }

    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    let mut next = vec![false; text.len() + 1];
    for (i, token) in pattern.iter().enumerate() {
        // Once no prefix of the text matches, no longer pattern prefix can match either.
        if !row.contains(&true) {
            return false;
        }
        next[0] = false;
        match token {
            Token::Many => {
                let ends_segment = matches!(pattern.get(i + 1), None | Some(Token::Char(':')));
                let crosses = !segments || ends_segment;
                next[0] = row[0];
                for (j, &c) in text.iter().enumerate() {
                    next[j + 1] = row[j + 1] || (next[j] && (crosses || c != ':'));
                }
            }
            Token::One => {
                for (j, &c) in text.iter().enumerate() {
                    next[j + 1] = row[j] && !(segments && c == ':');
                }
            }
            Token::Char(p) => {
                for (j, &c) in text.iter().enumerate() {
                    next[j + 1] = row[j] && chars_equal(*p, c, fold_case);
                }
            }
        }
        std::mem::swap(&mut row, &mut next);
    }
    row[text.len()]
}

/// How `expand` reads a policy string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `*` and `?` are plain characters.
    Literal,
    /// `*` and `?` are wildcards.
    Wildcards,
    /// Wildcards, and variables only after the fifth colon of the ARN.
    Resource,
}

/// Substitutes policy variables (when `vars`, i.e. the policy's `Version` supports them) and
/// compiles wildcards; `None` when a variable has no value.
fn expand(
    text: &str,
    context: &Context,
    vars: bool,
    mode: Mode,
) -> Result<Option<Vec<Token>>, EvalError> {
    let wildcards = mode != Mode::Literal;
    if !vars {
        return Ok(Some(literal_tokens(text, wildcards)));
    }
    let malformed = || EvalError::MalformedVariable {
        value: text.to_owned(),
    };
    let (mut tokens, mut rest, mut colons) = (Vec::new(), text, 0);
    while let Some(start) = rest.find("${") {
        let literal = &rest[..start];
        colons += literal.matches(':').count();
        tokens.extend(literal_tokens(literal, wildcards));
        let body = &rest[start + 2..];
        let end = body.find('}').ok_or_else(malformed)?;
        match &body[..end] {
            escape @ ("*" | "?" | "$") => tokens.extend(escape.chars().map(Token::Char)),
            variable => {
                if mode == Mode::Resource && colons < 5 {
                    let value = text.to_owned();
                    return Err(EvalError::VariableOutsideResourcePart { value });
                }
                match resolve(variable, context).ok_or_else(malformed)?? {
                    Some(value) => tokens.extend(value.chars().map(Token::Char)),
                    None => return Ok(None),
                }
            }
        }
        rest = &body[end + 1..];
    }
    tokens.extend(literal_tokens(rest, wildcards));
    Ok(Some(tokens))
}

/// Resolves `key` or `key, 'default'`; the outer `None` means the variable is malformed.
fn resolve(variable: &str, context: &Context) -> Option<Result<Option<String>, EvalError>> {
    let (key, default) = match variable.split_once(',') {
        Some((key, default)) => {
            let default = default.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(default))
        }
        None => (variable.trim(), None),
    };
    if key.is_empty() {
        return None;
    }
    Some(match context.get(key) {
        Some([one]) => Ok(Some(one.clone())),
        Some(_) => Err(EvalError::MultiValuedVariable {
            key: key.to_owned(),
        }),
        None => Ok(default.map(str::to_owned)),
    })
}

/// What a condition operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric(Compare),
    Date(Compare),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Compare {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Equal => ordering.is_eq(),
            Self::Less => ordering.is_lt(),
            Self::LessOrEqual => ordering.is_le(),
            Self::Greater => ordering.is_gt(),
            Self::GreaterOrEqual => ordering.is_ge(),
        }
    }
}

/// Base operator names, what they test, and whether they negate the test.
const OPERATORS: &[(&str, Test, bool)] = &[
    ("StringEquals", Test::String, false),
    ("StringNotEquals", Test::String, true),
    ("StringEqualsIgnoreCase", Test::StringIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Test::StringIgnoreCase, true),
    ("StringLike", Test::StringLike, false),
    ("StringNotLike", Test::StringLike, true),
    ("NumericEquals", Test::Numeric(Compare::Equal), false),
    ("NumericNotEquals", Test::Numeric(Compare::Equal), true),
    ("NumericLessThan", Test::Numeric(Compare::Less), false),
    (
        "NumericLessThanEquals",
        Test::Numeric(Compare::LessOrEqual),
        false,
    ),
    ("NumericGreaterThan", Test::Numeric(Compare::Greater), false),
    (
        "NumericGreaterThanEquals",
        Test::Numeric(Compare::GreaterOrEqual),
        false,
    ),
    ("DateEquals", Test::Date(Compare::Equal), false),
    ("DateNotEquals", Test::Date(Compare::Equal), true),
    ("DateLessThan", Test::Date(Compare::Less), false),
    (
        "DateLessThanEquals",
        Test::Date(Compare::LessOrEqual),
        false,
    ),
    ("DateGreaterThan", Test::Date(Compare::Greater), false),
    (
        "DateGreaterThanEquals",
        Test::Date(Compare::GreaterOrEqual),
        false,
    ),
    ("Bool", Test::Bool, false),
    ("BinaryEquals", Test::Binary, false),
    ("IpAddress", Test::Ip, false),
    ("NotIpAddress", Test::Ip, true),
    ("ArnEquals", Test::Arn, false),
    ("ArnLike", Test::Arn, false),
    ("ArnNotEquals", Test::Arn, true),
    ("ArnNotLike", Test::Arn, true),
    ("Null", Test::Null, false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy)]
struct Operator<'a> {
    name: &'a str,
    set: Option<SetOperator>,
    test: Test,
    negated: bool,
    if_exists: bool,
}

impl<'a> Operator<'a> {
    fn parse(name: &'a str) -> Result<Self, EvalError> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let unknown = || EvalError::UnknownOperator {
            operator: name.to_owned(),
        };
        let &(_, test, negated) = OPERATORS
            .iter()
            .find(|(known, ..)| *known == base)
            .ok_or_else(unknown)?;
        // AWS allows neither IfExists nor set operators on Null.
        if test == Test::Null && (if_exists || set.is_some()) {
            return Err(unknown());
        }
        Ok(Self {
            name,
            set,
            test,
            negated,
            if_exists,
        })
    }

    fn invalid(&self, value: &str, expected: &'static str) -> EvalError {
        let (operator, value) = (self.name.to_owned(), value.to_owned());
        EvalError::InvalidPolicyValue {
            operator,
            value,
            expected,
        }
    }
}

fn conditions_hold(
    conditions: &Conditions,
    context: &Context,
    vars: bool,
) -> Result<bool, EvalError> {
    // Parse every operator first so a typo surfaces even when an earlier condition fails.
    let operators = conditions
        .iter()
        .map(|(name, block)| Ok((Operator::parse(name)?, block)))
        .collect::<Result<Vec<_>, EvalError>>()?;
    for (operator, block) in operators {
        for (key, values) in block {
            if vars && key.contains("${") {
                let value = key.clone();
                return Err(EvalError::VariableNotAllowed {
                    element: "a condition key",
                    value,
                });
            }
            if !condition_holds(&operator, key, values, context, vars)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// A condition value from a policy, ready to compare.
#[derive(Debug, Clone)]
enum Expected {
    Text(String),
    Pattern(Vec<Token>),
    Arn(Vec<Vec<Token>>),
    Number(f64),
    Date(i128),
    Bool(bool),
    Network(IpAddr, u8),
}

fn condition_holds(
    operator: &Operator<'_>,
    key: &str,
    raw: &[String],
    context: &Context,
    vars: bool,
) -> Result<bool, EvalError> {
    let actual = context.get(key);
    if operator.test == Test::Null {
        let mut any = false;
        for value in raw {
            let want_absent =
                parse_bool(value).ok_or_else(|| operator.invalid(value, "boolean"))?;
            any |= want_absent == actual.is_none();
        }
        return Ok(any);
    }

    let mut expected = Vec::new();
    for value in raw {
        expected.extend(compile(operator, value, context, vars)?);
    }
    let Some(actual) = actual else {
        // A missing key fails positive tests and passes negated ones, except that IfExists
        // passes and ForAllValues passes vacuously.
        return Ok(match operator.set {
            Some(SetOperator::ForAllValues) => true,
            Some(SetOperator::ForAnyValue) => operator.if_exists,
            None => operator.if_exists || operator.negated,
        });
    };
    let matches = |value: &String| value_matches(operator, key, value, &expected);
    match operator.set {
        None => match actual {
            [one] => matches(one),
            _ => {
                let (operator, key) = (operator.name.to_owned(), key.to_owned());
                Err(EvalError::MultiValuedKey { operator, key })
            }
        },
        Some(SetOperator::ForAnyValue) => {
            for value in actual {
                if matches(value)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some(SetOperator::ForAllValues) => {
            for value in actual {
                if !matches(value)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
}

/// Compiles one policy value; `None` drops a value whose variable has no value, which then
/// equals nothing (so negated operators hold against it, as AWS documents).
fn compile(
    operator: &Operator<'_>,
    value: &str,
    context: &Context,
    vars: bool,
) -> Result<Option<Expected>, EvalError> {
    let takes_variables = matches!(
        operator.test,
        Test::String | Test::StringIgnoreCase | Test::StringLike | Test::Arn
    );
    if vars && !takes_variables && value.contains("${") {
        let element = "this condition operator";
        return Err(EvalError::VariableNotAllowed {
            element,
            value: value.to_owned(),
        });
    }
    let text = |mode| expand(value, context, vars, mode);
    let to_string = |tokens: Vec<Token>| {
        tokens
            .into_iter()
            .map(|t| match t {
                Token::Char(c) => c,
                Token::Many => '*',
                Token::One => '?',
            })
            .collect::<String>()
    };
    Ok(Some(match operator.test {
        Test::String | Test::StringIgnoreCase => match text(Mode::Literal)? {
            Some(tokens) => Expected::Text(to_string(tokens)),
            None => return Ok(None),
        },
        Test::StringLike => match text(Mode::Wildcards)? {
            Some(tokens) => Expected::Pattern(tokens),
            None => return Ok(None),
        },
        Test::Arn => match text(Mode::Wildcards)? {
            Some(tokens) => {
                let segments = arn_segments(&tokens, &Token::Char(':'));
                if segments.len() != 6 {
                    return Err(operator.invalid(value, "arn pattern"));
                }
                Expected::Arn(segments.into_iter().map(<[Token]>::to_vec).collect())
            }
            None => return Ok(None),
        },
        Test::Numeric(_) => {
            Expected::Number(parse_number(value).ok_or_else(|| operator.invalid(value, "number"))?)
        }
        Test::Date(_) => {
            Expected::Date(parse_date(value).ok_or_else(|| operator.invalid(value, "date"))?)
        }
        Test::Bool => {
            Expected::Bool(parse_bool(value).ok_or_else(|| operator.invalid(value, "boolean"))?)
        }
        Test::Binary => Expected::Text(value.trim().to_owned()),
        Test::Ip => {
            let (ip, prefix) = parse_network(value)
                .ok_or_else(|| operator.invalid(value, "ip address or cidr"))?;
            Expected::Network(ip, prefix)
        }
        Test::Null => return Ok(None),
    }))
}

/// Splits into the six colon-separated ARN segments; the last keeps any further colons.
fn arn_segments<'t, T: PartialEq>(items: &'t [T], colon: &T) -> Vec<&'t [T]> {
    items.splitn(6, |item| item == colon).collect()
}

/// Whether one context value satisfies the operator against all policy values: positive
/// operators need any value to match, negated ones need none to.
fn value_matches(
    operator: &Operator<'_>,
    key: &str,
    actual: &str,
    expected: &[Expected],
) -> Result<bool, EvalError> {
    let invalid = |expected: &'static str| EvalError::InvalidContextValue {
        key: key.to_owned(),
        value: actual.to_owned(),
        expected,
    };
    let chars: Vec<char> = actual.chars().collect();
    let number = match operator.test {
        Test::Numeric(_) => Some(parse_number(actual).ok_or_else(|| invalid("number"))?),
        _ => None,
    };
    let date = match operator.test {
        Test::Date(_) => Some(parse_date(actual).ok_or_else(|| invalid("date"))?),
        _ => None,
    };
    let flag = match operator.test {
        Test::Bool => Some(parse_bool(actual).ok_or_else(|| invalid("boolean"))?),
        _ => None,
    };
    let ip = match operator.test {
        Test::Ip => Some(
            actual
                .trim()
                .parse::<IpAddr>()
                .map_err(|_| invalid("ip address"))?,
        ),
        _ => None,
    };
    let arn: Option<Vec<Vec<char>>> = match operator.test {
        Test::Arn => Some(
            arn_segments(&chars, &':')
                .into_iter()
                .map(<[char]>::to_vec)
                .collect(),
        ),
        _ => None,
    };

    let any = expected.iter().any(|e| match (operator.test, e) {
        (Test::String, Expected::Text(t)) => t == actual,
        (Test::StringIgnoreCase, Expected::Text(t)) => t.to_lowercase() == actual.to_lowercase(),
        (Test::Binary, Expected::Text(t)) => t == actual.trim(),
        (Test::StringLike, Expected::Pattern(p)) => glob(p, &chars, Match::Text),
        (Test::Arn, Expected::Arn(pattern)) => arn.as_ref().is_some_and(|segments| {
            segments.len() == 6
                && pattern
                    .iter()
                    .zip(segments)
                    .all(|(p, s)| glob(p, s, Match::Text))
        }),
        (Test::Numeric(cmp), Expected::Number(n)) => number
            .and_then(|a| a.partial_cmp(n))
            .is_some_and(|o| cmp.holds(o)),
        (Test::Date(cmp), Expected::Date(d)) => date.is_some_and(|a| cmp.holds(a.cmp(d))),
        (Test::Bool, Expected::Bool(b)) => flag == Some(*b),
        (Test::Ip, Expected::Network(net, prefix)) => {
            ip.is_some_and(|a| in_network(a, *net, *prefix))
        }
        _ => false,
    });
    Ok(any != operator.negated)
}

fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    // Rust also parses `inf` and `NaN`, which are not IAM numbers.
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    numeric.then(|| text.parse().ok()).flatten()
}

fn parse_network(text: &str) -> Option<(IpAddr, u8)> {
    let text = text.trim();
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let ip: IpAddr = address.parse().ok()?;
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
        None => width,
    };
    (prefix <= width).then_some((ip, prefix))
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

const NANOS: i128 = 1_000_000_000;

/// Parses epoch seconds or the common ISO 8601 forms into nanoseconds since the epoch:
/// `2024-01-31`, `2024-01-31T12:00Z`, `2024-01-31T12:00:00.5+02:00`, `20240131T120000Z`;
/// a time without zone is UTC, and eight digits alone are a basic-format date, not seconds.
fn parse_date(text: &str) -> Option<i128> {
    let text = text.trim();
    let epoch_like = !text.is_empty()
        && text
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
    if epoch_like && text.len() != 8 {
        return parse_seconds(text);
    }
    let mut cursor = Cursor { rest: text };
    let year = cursor.digits(4)?;
    let dashes = cursor.eat('-');
    let month = cursor.digits(2)?;
    if dashes && !cursor.eat('-') {
        return None;
    }
    let day = cursor.digits(2)?;
    let days_in_month = match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let mut nanos = 0;

    if cursor.eat('T') || cursor.eat('t') {
        let hour = cursor.digits(2)?;
        let colons = cursor.eat(':');
        let minute = cursor.digits(2)?;
        let second = if (colons && cursor.eat(':')) || (!colons && cursor.peek_digit()) {
            cursor.digits(2)?
        } else {
            0
        };
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        if cursor.eat('.') || cursor.eat(',') {
            let fraction = cursor.take_while(|c| c.is_ascii_digit());
            if fraction.is_empty() {
                return None;
            }
            nanos = format!("{:0<9}", &fraction[..fraction.len().min(9)])
                .parse()
                .ok()?;
        }
        seconds += hour * 3_600 + minute * 60 + second;
        seconds -= cursor.zone_offset()?;
    }
    cursor
        .rest
        .is_empty()
        .then_some(i128::from(seconds) * NANOS + nanos)
}

fn parse_seconds(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || fraction.contains('.') {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = match fraction {
        "" => 0,
        f => format!("{:0<9}", &f[..f.len().min(9)]).parse().ok()?,
    };
    let total = whole.checked_mul(NANOS)?.checked_add(fraction)?;
    Some(if negative { -total } else { total })
}

/// Days from 1970-01-01 to a proleptic Gregorian date, counting in 400-year eras that start
/// on March 1 so that the leap day falls at the end of each year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn peek_digit(&self) -> bool {
        self.rest.starts_with(|c: char| c.is_ascii_digit())
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let end = self
            .rest
            .find(|c: char| !keep(c))
            .unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn digits(&mut self, count: usize) -> Option<i64> {
        let digits = self.rest.get(..count)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.rest = &self.rest[count..];
        digits.parse().ok()
    }

    /// Seconds east of UTC: `Z`, `+hh:mm`, `+hhmm`, `+hh` or nothing (UTC).
    fn zone_offset(&mut self) -> Option<i64> {
        if self.rest.is_empty() || self.eat('Z') || self.eat('z') {
            return Some(0);
        }
        let sign = if self.eat('+') {
            1
        } else if self.eat('-') {
            -1
        } else {
            return None;
        };
        let hours = self.digits(2)?;
        let minutes = if self.eat(':') || self.peek_digit() {
            self.digits(2)?
        } else {
            0
        };
        (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3_600 + minutes * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A slow reference matcher: `*` any run, `?` one character, the rest literal.
    fn naive(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|skip| naive(rest, &text[skip..])),
            Some(('?', rest)) => !text.is_empty() && naive(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && naive(rest, &text[1..]),
        }
    }

    proptest! {
        #[test]
        fn glob_agrees_with_a_naive_matcher(pattern in "[ab*?:]{0,8}", text in "[ab:]{0,8}") {
            let p: Vec<char> = pattern.chars().collect();
            let t: Vec<char> = text.chars().collect();
            prop_assert_eq!(glob(&literal_tokens(&pattern, true), &t, Match::Text), naive(&p, &t));
        }

        #[test]
        fn other_service_shortcut_only_skips_patterns_that_cannot_match(
            pattern in "[aAbK\u{212A}*?]{0,3}(:[ab*]{0,2})?",
            action in "[abkK\u{212A}]{0,3}(:[ab]{0,2})?",
        ) {
            let chars: Vec<char> = action.chars().collect();
            let matched = glob(&literal_tokens(&pattern, true), &chars, Match::Action);
            prop_assert!(!(other_service(&pattern, &action) && matched));
        }

        #[test]
        fn literal_action_and_resource_match_themselves(text in "[a-zA-Z0-9:/_-]{1,20}") {
            let chars: Vec<char> = text.chars().collect();
            let upper: Vec<char> = text.to_uppercase().chars().collect();
            prop_assert!(glob(&literal_tokens(&text, true), &chars, Match::Resource));
            prop_assert!(glob(&literal_tokens(&text, true), &upper, Match::Action));
        }

        #[test]
        fn explicit_deny_beats_allow_for_any_request(action in "[a-z]{1,5}:[A-Za-z]{1,8}") {
            let doc = PolicyDocument::new(vec![
                Statement::allow(["*"], ["*"]),
                Statement::deny([action.clone()], ["*"]),
            ]);
            let policies =
                PolicySet { identity: vec![NamedPolicy::new("p", doc)], ..Default::default() };
            let decision = evaluate(&policies, &Request::new(action, "arn:aws:s3:::b")).unwrap();
            prop_assert_eq!(decision.outcome, Outcome::ExplicitDeny);
        }
    }

    #[test]
    fn consecutive_calendar_days_are_a_day_apart() {
        let mut previous = None;
        for year in 1960..=2104 {
            for month in 1..=12 {
                for day in 1..=31 {
                    let Some(now) = parse_date(&format!("{year:04}-{month:02}-{day:02}")) else {
                        continue;
                    };
                    if let Some(before) = previous {
                        assert_eq!(now - before, 86_400 * NANOS, "{year}-{month}-{day}");
                    }
                    previous = Some(now);
                }
            }
        }
        assert_eq!(previous, parse_date("2104-12-31"));
        assert_eq!(parse_date("2100-02-29"), None);
        assert!(parse_date("2000-02-29").is_some());
    }

    fn date(text: &str) -> Option<i128> {
        parse_date(text).map(|nanos| nanos / NANOS)
    }

    #[test]
    fn iso_dates_parse_to_epoch_seconds() {
        assert_eq!(date("1970-01-01"), Some(0));
        assert_eq!(date("2020-01-01T00:00:01Z"), Some(1_577_836_801));
        assert_eq!(date("2020-01-01T00:00:01"), Some(1_577_836_801));
        assert_eq!(date("2020-01-01T02:00:01+02:00"), Some(1_577_836_801));
        assert_eq!(date("2019-12-31T19:00:01-0500"), Some(1_577_836_801));
        assert_eq!(date("2020-01-01T00:00Z"), Some(1_577_836_800));
        assert_eq!(date("20200101T000001Z"), Some(1_577_836_801));
        assert_eq!(date("20200101"), Some(1_577_836_800));
        assert_eq!(date("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(date("1969-12-31T23:59:59Z"), Some(-1));
    }

    #[test]
    fn fractional_seconds_keep_nanosecond_precision() {
        assert_eq!(
            parse_date("2020-01-01T00:00:00.5Z"),
            Some(1_577_836_800 * NANOS + NANOS / 2)
        );
        assert_eq!(parse_date("1.25"), Some(NANOS + NANOS / 4));
    }

    #[test]
    fn epoch_seconds_parse_as_dates() {
        assert_eq!(date("1577836801"), Some(1_577_836_801));
        assert_eq!(date("0"), Some(0));
        assert_eq!(date("-10"), Some(-10));
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for bad in [
            "",
            "2023-02-29",
            "2020-13-01",
            "2020-01-32",
            "2020-01-01T24:00:00Z",
            "2020-1-1",
            "2020-01-01T00:00:00+25:00",
            "2020-01-01X",
            "yesterday",
            "1.2.3",
            "2020-01-01T00:00:00.Z",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_reject_rust_only_spellings() {
        assert_eq!(parse_number(" 10 "), Some(10.0));
        assert_eq!(parse_number("-2.5e1"), Some(-25.0));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn networks_parse_with_and_without_prefix() {
        let v4 = "203.0.113.0".parse().unwrap();
        assert_eq!(parse_network("203.0.113.0/24"), Some((v4, 24)));
        assert_eq!(parse_network("203.0.113.0"), Some((v4, 32)));
        assert_eq!(parse_network("203.0.113.0/33"), None);
        assert_eq!(parse_network("2001:DB8::/32").map(|n| n.1), Some(32));
        assert_eq!(parse_network("203.0.113.0/+1"), None);
        assert!(in_network(
            "10.1.2.3".parse().unwrap(),
            "0.0.0.0".parse().unwrap(),
            0
        ));
    }

    #[test]
    fn resource_star_inside_a_segment_does_not_cross_colons() {
        let matches = |pattern: &str, text: &str| {
            let text: Vec<char> = text.chars().collect();
            glob(&literal_tokens(pattern, true), &text, Match::Resource)
        };
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/x:y"));
        assert!(matches("arn:aws:iam::*:role/x", "arn:aws:iam::123:role/x"));
        assert!(!matches(
            "arn:aws:states:*:*:execution:*sm:*",
            "arn:aws:states:r:1:execution:a:sm:e"
        ));
        assert!(matches(
            "arn:aws:states:*:*:execution:*sm:*",
            "arn:aws:states:r:1:execution:asm:e"
        ));
        assert!(!matches(
            "arn:aws:sqs:us-east-?:1:q",
            "arn:aws:sqs:us-east:::1:q"
        ));
        assert!(matches("*", ""));
    }

    #[test]
    fn statement_ref_and_outcome_display_for_reports() {
        let at = StatementRef {
            policy: "p".into(),
            index: 2,
            sid: Some("S".into()),
        };
        assert_eq!(at.to_string(), "`p` statement 2 (`S`)");
        assert_eq!(Outcome::ImplicitDeny.to_string(), "implicit deny");
    }

    #[test]
    fn context_keys_are_case_insensitive_and_empty_means_absent() {
        let context = Context::new()
            .with("AWS:UserName", "a")
            .with_values("k", Vec::<String>::new());
        assert_eq!(context.get("aws:username"), Some(&["a".to_owned()][..]));
        assert_eq!(context.get("k"), None);
    }

    #[test]
    fn statement_errors_carry_the_policy_and_index() {
        let doc = PolicyDocument::new(vec![
            Statement::allow(["s3:GetObject"], ["*"]).with_condition("StringEqualz", "k", ["v"]),
        ]);
        let policies = PolicySet {
            identity: vec![NamedPolicy::new("p", doc)],
            ..Default::default()
        };
        let err =
            evaluate(&policies, &Request::new("s3:GetObject", "arn:aws:s3:::b/k")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot evaluate statement 0 of `p`: unsupported condition operator `StringEqualz`"
        );
    }
}
