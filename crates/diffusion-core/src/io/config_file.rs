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
/// Errors name where the offending key came from: the file, or `command line (--set …)` when an
/// override set it (shortcuts such as `--label` are overrides too), and the dotted key. A
/// `[train]` section is also checked for values out of range (`train.batch_size = 0`), so a bad
/// value is refused before anything is written.
pub fn load_config<T: DeserializeOwned>(path: Option<&Path>, overrides: &[String]) -> Result<T> {
    let file_origin = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "command line".into());
    let mut table = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| CoreError::io(p, e))?;
            toml::from_str::<toml::Table>(&text).map_err(|e| CoreError::ConfigFile {
                origin: file_origin.clone(),
                key: String::new(),
                reason: e.to_string().trim().replace('\n', " "),
            })?
        }
        None => toml::Table::new(),
    };
    let mut set = Vec::new();
    for o in overrides {
        apply_override(&mut table, o).map_err(|e| CoreError::ConfigFile {
            origin: "command line".into(),
            key: o.clone(),
            reason: e.to_string(),
        })?;
        let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k).trim();
        set.push((key.to_string(), o.clone()));
    }
    let origin_of = |key: &str| -> String {
        let by = set.iter().rev().find(|(k, _)| {
            k == key || key.starts_with(&format!("{k}.")) || k.starts_with(&format!("{key}."))
        });
        match by {
            Some((_, o)) if !key.is_empty() => format!("command line (--set {o})"),
            _ => file_origin.clone(),
        }
    };
    check_train_section(&table, &origin_of)?;
    parse_table(table, &origin_of)
}

/// Range checks of a `[train]` section (`TrainConfig::validate`), with the key's origin.
fn check_train_section(table: &toml::Table, origin_of: &dyn Fn(&str) -> String) -> Result<()> {
    let Some(train) = table.get("train") else {
        return Ok(());
    };
    // Type errors are reported by the full parse; only a well-typed section is range-checked.
    if let Ok(cfg) = train.clone().try_into::<crate::train::TrainConfig>() {
        cfg.validate().map_err(|e| match e {
            CoreError::Config { field, reason } => CoreError::ConfigFile {
                origin: origin_of(&field),
                key: field,
                reason,
            },
            other => other,
        })?;
    }
    Ok(())
}

/// Parse a TOML table into `T`, naming the dotted key of the first error.
pub fn from_table<T: DeserializeOwned>(table: toml::Table, origin: &str) -> Result<T> {
    parse_table(table, &|_| origin.to_string())
}

fn parse_table<T: DeserializeOwned>(
    table: toml::Table,
    origin_of: &dyn Fn(&str) -> String,
) -> Result<T> {
    serde_path_to_error::deserialize(table).map_err(|e| {
        let mut key = e.path().to_string();
        if key == "." {
            key.clear();
        }
        let reason = e.into_inner().to_string().trim().to_string();
        // An unknown key: the path names its section, the message the key itself.
        let full = match reason
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            Some(field) if key.is_empty() => field.to_string(),
            Some(field) => format!("{key}.{field}"),
            None => key.clone(),
        };
        CoreError::ConfigFile {
            origin: origin_of(&full),
            key,
            reason,
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
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "gdd-config-{}-{}.toml",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct WithTrain {
        train: crate::train::TrainConfig,
    }

    /// A bad key or value set on the command line is reported against the command line, one
    /// from the file against the file, whichever other keys either side sets.
    #[test]
    fn errors_name_the_command_line_for_overrides_and_the_file_otherwise() {
        let p = write("[train]\nsteps = 3\nbatch_size = 8\n");
        let file = p.display().to_string();
        for (set, key) in [
            ("train.nonsense=1", "train"),
            ("train.batch_size=-3", "train.batch_size"),
            ("train.batch_size=0", "train.batch_size"),
            ("train.steps=0", "train.steps"),
        ] {
            let e = load_config::<WithTrain>(Some(&p), &["train.lr=0.01".into(), set.into()])
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("command line (--set {set})")), "{e}");
            assert!(!e.contains(&file), "{e}");
            assert!(e.contains(key), "{e}");
        }
        for (text, key) in [
            ("[train]\nsteps = 3\nbatch_size = 0\n", "train.batch_size"),
            ("[train]\nsteps = 3\nbatch_size = 8\nbogus = 1\n", "bogus"),
        ] {
            let p = write(text);
            let e = load_config::<WithTrain>(Some(&p), &["train.lr=0.01".into()])
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&p.display().to_string()), "{e}");
            assert!(e.contains(key), "{e}");
        }
    }
}
