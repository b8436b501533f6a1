//! The species (class) list: which FASTA files make up which class.
//!
//! Two formats, chosen by extension (`.toml` is TOML, anything else tab-separated):
//!
//! ```toml
//! [[species]]
//! name = "ecoli"
//! files = ["05_ecoli.fa.gz"]
//! ```
//!
//! TSV is either headerless `name<TAB>path` rows (a name repeated on several rows gets all
//! those files), or a table with a header row that has a `file` (or `path`) column and a
//! `name` (or `label`) column, like the shipped `datasets/genomics/manifest.tsv`. There an
//! optional `class_id` column fixes the class order; other columns are kept in
//! [`SpeciesEntry::extra`]. Without `class_id`, classes are numbered in order of first
//! appearance. Relative paths are relative to the manifest's directory; blank lines and lines
//! starting with `#` are ignored.

use diffusion_core::CoreError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Result;

/// One class: a species and the FASTA files of its genome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeciesEntry {
    /// Short name, used in sample headers (`species=<name>`) and reports.
    pub name: String,
    /// FASTA files, resolved against the manifest's directory.
    pub files: Vec<PathBuf>,
    /// Other columns of a TSV table with a header (e.g. `species`, `gc`, `n_nonACGT`).
    pub extra: BTreeMap<String, String>,
}

/// The ordered species list; the position of an entry is its class id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub path: PathBuf,
    pub species: Vec<SpeciesEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlManifest {
    species: Vec<TomlSpecies>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlSpecies {
    name: String,
    files: Vec<PathBuf>,
}

impl Manifest {
    /// Reads a TOML or TSV manifest (see the module documentation).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| CoreError::io(path, e))?;
        let is_toml = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("toml"));
        if is_toml {
            Self::from_toml(&text, path)
        } else {
            Self::from_tsv(&text, path)
        }
    }

    /// Parses TOML text; `path` names the file in errors and anchors relative paths.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let parsed: TomlManifest = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => CoreError::parse(path, line_of(text, span.start), e.message()),
            None => CoreError::input(path, e.message()),
        })?;
        let base = base_dir(path);
        let mut builder = Builder::new(path);
        for species in parsed.species {
            if species.files.is_empty() {
                return Err(CoreError::input(
                    path,
                    format!("species '{}' has no files", species.name),
                )
                .into());
            }
            let files = species.files.iter().map(|f| base.join(f)).collect();
            builder.add(species.name, files, BTreeMap::new(), None)?;
        }
        builder.finish()
    }

    /// Parses TSV text; `path` names the file in errors and anchors relative paths.
    pub fn from_tsv(text: &str, path: &Path) -> Result<Self> {
        let base = base_dir(path);
        let mut rows = text
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
            .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'));
        let Some((first_no, first)) = rows.next() else {
            return Err(CoreError::input(path, "no species listed").into());
        };
        let first_fields: Vec<&str> = first.split('\t').map(str::trim).collect();
        let mut builder = Builder::new(path);
        match Columns::from_header(&first_fields) {
            Some(columns) => {
                for (line_no, line) in rows {
                    let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
                    if fields.len() != first_fields.len() {
                        return Err(CoreError::parse(
                            path,
                            line_no,
                            format!(
                                "{} columns, but the header has {}",
                                fields.len(),
                                first_fields.len()
                            ),
                        )
                        .into());
                    }
                    let class_id = columns
                        .class_id
                        .map(|c| {
                            fields[c].parse::<usize>().map_err(|e| {
                                CoreError::parse(
                                    path,
                                    line_no,
                                    format!("class_id '{}': {e}", fields[c]),
                                )
                            })
                        })
                        .transpose()?;
                    let file = non_empty(fields[columns.file], "file", path, line_no)?;
                    let name = non_empty(fields[columns.name], "name", path, line_no)?;
                    let extra = first_fields
                        .iter()
                        .zip(&fields)
                        .enumerate()
                        .filter(|(i, _)| !columns.is_known(*i))
                        .map(|(_, (k, v))| ((*k).to_owned(), (*v).to_owned()))
                        .collect();
                    builder.add_row(name, base.join(file), extra, class_id, line_no)?;
                }
            }
            None => {
                for (line_no, line) in std::iter::once((first_no, first)).chain(rows) {
                    let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
                    let [name, file] = fields[..] else {
                        return Err(CoreError::parse(
                            path,
                            line_no,
                            format!(
                                "expected 'name<TAB>path', found {} tab-separated fields",
                                fields.len()
                            ),
                        )
                        .into());
                    };
                    let name = non_empty(name, "name", path, line_no)?;
                    let file = non_empty(file, "path", path, line_no)?;
                    builder.add_row(name, base.join(file), BTreeMap::new(), None, line_no)?;
                }
            }
        }
        builder.finish()
    }

    /// Species names in class order.
    pub fn names(&self) -> Vec<&str> {
        self.species.iter().map(|s| s.name.as_str()).collect()
    }

    /// Class id of a species name.
    pub fn class_of(&self, name: &str) -> Option<usize> {
        self.species.iter().position(|s| s.name == name)
    }
}

/// Column positions of a TSV table with a header row.
struct Columns {
    name: usize,
    file: usize,
    class_id: Option<usize>,
}

impl Columns {
    fn from_header(fields: &[&str]) -> Option<Self> {
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| fields.iter().position(|f| f == n))
        };
        Some(Self {
            file: find(&["file", "path"])?,
            name: find(&["name", "label"])?,
            class_id: find(&["class_id"]),
        })
    }

    fn is_known(&self, column: usize) -> bool {
        column == self.name || column == self.file || Some(column) == self.class_id
    }
}

/// Collects entries, merging repeated TSV names and checking ids and duplicates.
struct Builder<'a> {
    path: &'a Path,
    species: Vec<SpeciesEntry>,
    class_ids: Vec<Option<usize>>,
}

impl<'a> Builder<'a> {
    fn new(path: &'a Path) -> Self {
        Self {
            path,
            species: Vec::new(),
            class_ids: Vec::new(),
        }
    }

    /// A TOML entry: a name may appear only once.
    fn add(
        &mut self,
        name: String,
        files: Vec<PathBuf>,
        extra: BTreeMap<String, String>,
        class_id: Option<usize>,
    ) -> Result<()> {
        if name.trim().is_empty() {
            return Err(CoreError::input(self.path, "species with empty name").into());
        }
        if self.species.iter().any(|s| s.name == name) {
            return Err(
                CoreError::input(self.path, format!("species '{name}' is listed twice")).into(),
            );
        }
        self.species.push(SpeciesEntry { name, files, extra });
        self.class_ids.push(class_id);
        Ok(())
    }

    /// A TSV row: a repeated name adds a file to that species.
    fn add_row(
        &mut self,
        name: &str,
        file: PathBuf,
        extra: BTreeMap<String, String>,
        class_id: Option<usize>,
        line: usize,
    ) -> Result<()> {
        match self.species.iter().position(|s| s.name == name) {
            Some(i) => {
                if self.class_ids[i] != class_id {
                    return Err(CoreError::parse(
                        self.path,
                        line,
                        format!("species '{name}' appears again with another class_id"),
                    )
                    .into());
                }
                self.species[i].files.push(file);
                Ok(())
            }
            None => self.add(name.to_owned(), vec![file], extra, class_id),
        }
    }

    /// Orders by `class_id` when given; ids must then be exactly 0..n.
    fn finish(self) -> Result<Manifest> {
        let Builder {
            path,
            species,
            class_ids,
        } = self;
        if species.is_empty() {
            return Err(CoreError::input(path, "no species listed").into());
        }
        let count = species.len();
        let species = if class_ids.iter().all(Option::is_some) {
            let mut slots: Vec<Option<SpeciesEntry>> = vec![None; count];
            for (entry, id) in species.into_iter().zip(class_ids.into_iter().flatten()) {
                let slot = slots.get_mut(id).ok_or_else(|| {
                    CoreError::input(
                        path,
                        format!(
                            "class_id {id} of '{}' is out of range: {count} species need ids 0..={}",
                            entry.name,
                            count - 1
                        ),
                    )
                })?;
                if let Some(other) = slot.as_ref() {
                    return Err(CoreError::input(
                        path,
                        format!(
                            "class_id {id} is used by '{}' and '{}'",
                            other.name, entry.name
                        ),
                    )
                    .into());
                }
                *slot = Some(entry);
            }
            slots.into_iter().flatten().collect()
        } else {
            species
        };
        Ok(Manifest {
            path: path.to_owned(),
            species,
        })
    }
}

fn non_empty<'t>(value: &'t str, what: &str, path: &Path, line: usize) -> Result<&'t str> {
    if value.is_empty() {
        Err(CoreError::parse(path, line, format!("empty {what}")).into())
    } else {
        Ok(value)
    }
}

fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
