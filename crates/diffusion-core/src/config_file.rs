//! Experiment configs: TOML files plus command-line overrides (`--set train.steps=500`).
//!
//! Every key of a config struct can be set in the file or overridden on the command line, the
//! overrides are applied before the typed parse, and any unknown or ill-typed key is an error
//! naming the file and the full dotted key. The resolved config (file + overrides + defaults)
//! is what a run directory records, so a run can be repeated from its own `config.toml`.

use crate::error::{CoreError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Parse `value` as a TOML value (`3`, `1e-3`, `true`, `"udlm"`, `[1, 2]`, `{ type = "cosine" }`);
/// anything that does not parse is taken as a bare string, so `--set diffusion.kind=udlm` works.
fn parse_value(value: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {value}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(value.into())),
        Err(_) => toml::Value::String(value.to_string()),
    }
}

/// Apply one `dotted.key=value` override to a TOML table, creating sub-tables as needed.
pub fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let (key, value) = assignment.split_once('=').ok_or_else(|| {
        CoreError::config(assignment, "an override must look like `section.key=value`")
    })?;
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(CoreError::config(key, "empty component in the key"));
    }
    let mut cur = table;
    for (i, p) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(CoreError::config(
                    parts[..=i].join("."),
                    "is a value, not a section, so it has no sub-keys",
                ));
            }
        };
    }
    cur.insert(
        parts[parts.len() - 1].to_string(),
        parse_value(value.trim()),
    );
    Ok(())
}

/// Read a TOML config (or start from an empty one), apply overrides, and parse it into `T`.
/// Errors name the file (or `command line`) and the dotted key.
pub fn load_config<T: DeserializeOwned>(path: Option<&Path>, overrides: &[String]) -> Result<T> {
    let origin = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "command line".into());
    let mut table = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| CoreError::io(p, e))?;
            toml::from_str::<toml::Table>(&text).map_err(|e| CoreError::ConfigFile {
                origin: origin.clone(),
                key: String::new(),
                reason: e.to_string().trim().replace('\n', " "),
            })?
        }
        None => toml::Table::new(),
    };
    for o in overrides {
        apply_override(&mut table, o).map_err(|e| CoreError::ConfigFile {
            origin: "command line".into(),
            key: o.clone(),
            reason: e.to_string(),
        })?;
    }
    from_table(table, &origin)
}

/// Parse a TOML table into `T`, naming the dotted key of the first error.
pub fn from_table<T: DeserializeOwned>(table: toml::Table, origin: &str) -> Result<T> {
    serde_path_to_error::deserialize(table).map_err(|e| {
        let key = e.path().to_string();
        CoreError::ConfigFile {
            origin: origin.to_string(),
            key: if key == "." { String::new() } else { key },
            reason: e.into_inner().to_string().trim().to_string(),
        }
    })
}

/// Serialise a resolved config as TOML text (for a run directory's `config.toml`).
pub fn to_toml<T: Serialize>(value: &T) -> Result<String> {
    toml::to_string_pretty(value)
        .map_err(|e| CoreError::config("config", format!("cannot be written as TOML: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        steps: usize,
        #[serde(default)]
        lr: f64,
    }
    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        train: Inner,
    }

    fn write(text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "gdd-config-{}-{}.toml",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn overrides_win_and_round_trip() {
        let p = write("name = \"a\"\n[train]\nsteps = 3\n");
        let c: Outer = load_config(
            Some(&p),
            &[
                "train.lr=1e-3".into(),
                "name=bare".into(),
                "train.steps=7".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            c,
            Outer {
                name: "bare".into(),
                train: Inner { steps: 7, lr: 1e-3 }
            }
        );
        let back: Outer = toml::from_str(&to_toml(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn unknown_and_ill_typed_keys_name_file_and_key() {
        let p = write("name = \"a\"\n[train]\nsteps = 3\nstpes = 4\n");
        let e = load_config::<Outer>(Some(&p), &[]).unwrap_err().to_string();
        assert!(e.contains(&p.display().to_string()), "{e}");
        assert!(e.contains("stpes"), "{e}");
        let e = load_config::<Outer>(Some(&p), &["train.stpes=1".into()]);
        assert!(e.is_err());
        let p = write("name = \"a\"\n[train]\nsteps = \"many\"\n");
        let e = load_config::<Outer>(Some(&p), &[]).unwrap_err().to_string();
        assert!(e.contains("train.steps"), "{e}");
        let e = load_config::<Outer>(None, &["name".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("command line"), "{e}");
        let e = load_config::<Outer>(None, &["name=x".into(), "name.sub=1".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a section"), "{e}");
        let p = write("name = \n");
        assert!(load_config::<Outer>(Some(&p), &[]).is_err());
    }
}
