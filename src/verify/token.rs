//! The claims of a service-account token, read without checking its signature: verify only
//! needs to know what AWS would be shown.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The claims IRSA's trust conditions look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
}

#[derive(Deserialize)]
struct Raw {
    iss: String,
    sub: String,
    #[serde(default)]
    aud: Audience,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

/// Reads the payload of a JWT.
pub fn claims_of(token: &str) -> Result<Claims, String> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("payload is not base64url: {e}"))?;
    let raw: Raw = serde_json::from_slice(&bytes).map_err(|e| format!("bad claims: {e}"))?;
    let aud = match raw.aud {
        Audience::One(a) => vec![a],
        Audience::Many(list) => list,
        Audience::None => Vec::new(),
    };
    Ok(Claims {
        iss: raw.iss,
        sub: raw.sub,
        aud,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn audience_may_be_a_string_or_a_list() {
        let one = claims_of(&jwt(
            r#"{"iss":"https://i","sub":"s","aud":"sts.amazonaws.com"}"#,
        ));
        assert_eq!(one.unwrap().aud, ["sts.amazonaws.com"]);
        let many = claims_of(&jwt(r#"{"iss":"https://i","sub":"s","aud":["a","b"]}"#));
        assert_eq!(many.unwrap().aud, ["a", "b"]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(claims_of("no-dots").is_err());
        assert!(claims_of("a.!!!.c").is_err());
    }
}
