//! Species manifests: TOML, headerless TSV, the shipped TSV table, and their errors.

use diffusion_core::CoreError;
use std::path::{Path, PathBuf};

use genomics::{GenomicsError, Manifest};

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genomics-manifest-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

#[test]
fn toml_manifest_resolves_paths_against_its_directory() {
    let dir = temp_dir("toml");
    let path = write(
        &dir,
        "species.toml",
        r#"
[[species]]
name = "ecoli"
files = ["genomes/ecoli.fa.gz"]

[[species]]
name = "human"
files = ["h1.fa", "/abs/h2.fa"]
"#,
    );
    let manifest = Manifest::load(&path).expect("valid manifest");
    assert_eq!(manifest.names(), ["ecoli", "human"]);
    assert_eq!(manifest.species[0].files, [dir.join("genomes/ecoli.fa.gz")]);
    assert_eq!(
        manifest.species[1].files,
        [dir.join("h1.fa"), PathBuf::from("/abs/h2.fa")]
    );
    assert_eq!(manifest.class_of("human"), Some(1));
    assert_eq!(manifest.class_of("mouse"), None);
}

#[test]
fn unknown_toml_key_names_key_file_and_line() {
    let dir = temp_dir("toml-unknown");
    let path = write(
        &dir,
        "species.toml",
        "[[species]]\nname = \"a\"\nfiles = [\"a.fa\"]\ncolour = \"red\"\n",
    );
    let err = Manifest::load(&path).expect_err("unknown key");
    let message = err.to_string();
    assert!(message.contains("colour"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        matches!(err, GenomicsError::Core(CoreError::Parse { line: 4, .. })),
        "{message}"
    );

    let path = write(
        &dir,
        "top.toml",
        "classes = 3\n[[species]]\nname = \"a\"\nfiles = [\"a.fa\"]\n",
    );
    let message = Manifest::load(&path).expect_err("unknown key").to_string();
    assert!(message.contains("classes"), "{message}");
}

#[test]
fn toml_duplicates_and_empty_file_lists_are_errors() {
    let dir = temp_dir("toml-dup");
    let entry = "[[species]]\nname = \"a\"\nfiles = [\"a.fa\"]\n";
    let path = write(&dir, "dup.toml", &format!("{entry}{entry}"));
    let message = Manifest::load(&path).expect_err("duplicate").to_string();
    assert!(message.contains("'a' is listed twice"), "{message}");
    let path = write(
        &dir,
        "nofiles.toml",
        "[[species]]\nname = \"a\"\nfiles = []\n",
    );
    assert!(Manifest::load(&path).is_err());
    let path = write(&dir, "none.toml", "species = []\n");
    assert!(Manifest::load(&path).is_err());
}

#[test]
fn headerless_tsv_groups_repeated_names() {
    let dir = temp_dir("tsv");
    let path = write(
        &dir,
        "species.tsv",
        "# name\tpath\nfly\tdm/a.fa\n\nworm\tce.fa\r\nfly\tdm/b.fa\n",
    );
    let manifest = Manifest::load(&path).expect("valid");
    assert_eq!(manifest.names(), ["fly", "worm"]);
    assert_eq!(
        manifest.species[0].files,
        [dir.join("dm/a.fa"), dir.join("dm/b.fa")]
    );
    assert!(manifest.species[0].extra.is_empty());
}

#[test]
fn tsv_errors_name_the_line() {
    let dir = temp_dir("tsv-bad");
    let path = write(&dir, "bad.tsv", "fly\tdm.fa\nworm ce.fa\n");
    let err = Manifest::load(&path).expect_err("one field");
    assert!(
        matches!(err, GenomicsError::Core(CoreError::Parse { line: 2, .. })),
        "{err}"
    );
    let path = write(&dir, "short.tsv", "class_id\tlabel\tfile\n0\tfly\n");
    let err = Manifest::load(&path).expect_err("missing column");
    assert!(
        matches!(err, GenomicsError::Core(CoreError::Parse { line: 2, .. })),
        "{err}"
    );
    let path = write(
        &dir,
        "ids.tsv",
        "class_id\tlabel\tfile\n0\tfly\ta.fa\n0\tworm\tb.fa\n",
    );
    let message = Manifest::load(&path).expect_err("same id").to_string();
    assert!(message.contains("class_id 0"), "{message}");
    let path = write(
        &dir,
        "gap.tsv",
        "class_id\tlabel\tfile\n0\tfly\ta.fa\n2\tworm\tb.fa\n",
    );
    assert!(Manifest::load(&path).is_err());
    let path = write(&dir, "empty.tsv", "# nothing\n\n");
    assert!(Manifest::load(&path).is_err());
}

#[test]
fn tsv_table_is_ordered_by_class_id_and_keeps_other_columns() {
    let dir = temp_dir("tsv-table");
    let path = write(
        &dir,
        "m.tsv",
        "class_id\tlabel\tgc\tfile\n1\tworm\t0.37\tce.fa\n0\tfly\t0.42\tdm.fa\n",
    );
    let manifest = Manifest::load(&path).expect("valid");
    assert_eq!(manifest.names(), ["fly", "worm"]);
    assert_eq!(manifest.species[1].extra["gc"], "0.37");
    assert_eq!(manifest.species[1].files, [dir.join("ce.fa")]);
}

#[test]
fn shipped_manifest_lists_twelve_species() {
    let Some(dir) = shipped_genomes() else {
        eprintln!("skipped: shipped genomics data set not found");
        return;
    };
    let manifest = Manifest::load(dir.join("manifest.tsv")).expect("shipped manifest");
    assert_eq!(manifest.species.len(), 12);
    assert_eq!(manifest.species[0].name, "hsapiens");
    assert_eq!(manifest.species[5].name, "ecoli");
    assert_eq!(manifest.species[11].name, "ctrachomatis");
    assert_eq!(manifest.species[2].extra["n_records"], "7");
    assert_eq!(
        manifest.species[2].extra["species"],
        "Caenorhabditis elegans"
    );
    for species in &manifest.species {
        assert_eq!(species.files.len(), 1);
        assert!(species.files[0].is_file(), "{}", species.files[0].display());
    }
}

fn shipped_genomes() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GENOMICS_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .take(4)
        .flat_map(|a| {
            [
                a.join("datasets/genomics"),
                a.join("shared/datasets/genomics"),
            ]
        })
        .find(|d| d.join("manifest.tsv").is_file())
}
