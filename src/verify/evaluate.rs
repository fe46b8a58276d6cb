use std::collections::BTreeMap;
#[derive(Debug, thiserror::Error)]
pub enum EvalFailure { #[error("x")] X }
pub fn trust_allows_service(_t: &str, _s: &str) -> Result<bool, EvalFailure> { Ok(true) }
pub fn identity_allows(_d: &BTreeMap<String, String>, _a: &str, _r: &str) -> Result<Option<String>, EvalFailure> { Ok(None) }
