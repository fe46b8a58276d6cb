//! Output formats and the pieces of human output shared by the subcommands.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;

use super::ColorChoice;

/// `-o/--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
    Yaml,
}

pub fn color_enabled(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// ANSI styling that is a no-op when color is off.
#[derive(Debug, Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        match self.0 {
            true => format!("\x1b[{code}m{text}\x1b[0m"),
            false => text.to_owned(),
        }
    }
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }
    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
}

/// A machine-readable document: `apiVersion`, `kind`, then the body's fields.
pub fn document<T: Serialize>(kind: &str, body: &T) -> anyhow::Result<Value> {
    let mut doc = serde_json::json!({"apiVersion": crate::spec::API_VERSION, "kind": kind});
    if let (Some(map), Value::Object(fields)) = (doc.as_object_mut(), serde_json::to_value(body)?) {
        map.extend(fields);
    }
    Ok(doc)
}

/// Writes `text` to stdout; a closed pipe ends quietly instead of failing.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints a machine-readable document in `format` (JSON or YAML).
pub fn print_document(format: Format, doc: &Value) -> anyhow::Result<()> {
    let text = match format {
        Format::Yaml => serde_saphyr::to_string(doc)?,
        _ => format!("{}\n", serde_json::to_string_pretty(doc)?),
    };
    print(&text)
}

/// A line diff of two policy documents, pretty-printed, indented by `indent`.
pub fn document_diff(from: Option<&Value>, to: &Value, indent: &str, paint: Paint) -> String {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    let old = from.map(pretty).unwrap_or_default();
    let new = pretty(to);
    let diff = similar::TextDiff::from_lines(&old, &new);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let shown = match change.tag() {
            similar::ChangeTag::Delete => paint.red(&format!("- {line}")),
            similar::ChangeTag::Insert => paint.green(&format!("+ {line}")),
            similar::ChangeTag::Equal => format!("  {line}"),
        };
        out.push_str(indent);
        out.push_str(&shown);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_starts_with_api_version_and_kind() {
        let doc = document("Plan", &serde_json::json!({"resources": []})).unwrap();
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "resources"]);
    }

    #[test]
    fn diff_marks_added_and_removed_lines() {
        let from = serde_json::json!({"Action": "a"});
        let to = serde_json::json!({"Action": "b"});
        let text = document_diff(Some(&from), &to, "", Paint(false));
        assert!(text.contains("-   \"Action\": \"a\""), "{text}");
        assert!(text.contains("+   \"Action\": \"b\""), "{text}");
    }
}
