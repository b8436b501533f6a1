//! Every `§N` / `§N.M` citation in the crates' sources and tests, the README and the configs must
//! name a heading of `docs/spec.md`: the specification ships with the repository, so a citation
//! has to resolve for someone who has nothing but a clone.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Section numbers cited in `text`: '§', an optional space, then digits and dots, with a
/// trailing dot (end of a sentence) removed. "§4.2" → "4.2", "§14 item 5" → "14",
/// "§5.2–5.3" → "5.2".
fn citations(text: &str) -> Vec<String> {
    text.match_indices('§')
        .filter_map(|(i, m)| {
            let rest = &text[i + m.len()..];
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.');
            number
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| number.to_string())
        })
        .collect()
}

/// All `*.rs` files below `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files whose citations are checked: `crates/*/{src,tests}/**/*.rs`, README.md and
/// `configs/*.toml`.
fn cited_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    for krate in fs::read_dir(root.join("crates")).expect("crates/ is readable") {
        let krate = krate.expect("readable directory entry").path();
        rust_files(&krate.join("src"), &mut files);
        rust_files(&krate.join("tests"), &mut files);
    }
    for entry in fs::read_dir(root.join("configs")).expect("configs/ is readable") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_section_citation_is_a_heading_of_docs_spec() {
    assert_eq!(
        citations("spec §4.2, § 13.11 and §14 item 5; see §8. Also §5.2–5.3 and § x."),
        ["4.2", "13.11", "14", "8", "5.2"]
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec = fs::read_to_string(root.join("docs/spec.md")).expect("docs/spec.md exists");
    assert!(
        spec.len() > 10_000,
        "docs/spec.md is only {} bytes",
        spec.len()
    );

    // The number a heading defines is the first citation on a line starting with '#'.
    let headings: BTreeSet<String> = spec
        .lines()
        .filter(|line| line.starts_with('#'))
        .filter_map(|line| citations(line).into_iter().next())
        .collect();

    // Cited number → places ("path:line") that cite it.
    let mut cited: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in cited_files(&root) {
        let text = fs::read_to_string(&file).expect("readable source file");
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            for number in citations(line) {
                cited
                    .entry(number)
                    .or_default()
                    .push(format!("{name}:{}", n + 1));
            }
        }
    }
    // Guards against a walk that silently finds nothing (the repository cites over 30 sections).
    assert!(
        cited.len() >= 20,
        "found only {} cited sections: {:?}",
        cited.len(),
        cited.keys().collect::<Vec<_>>()
    );

    let missing: Vec<String> = cited
        .iter()
        .filter(|(number, _)| !headings.contains(*number))
        .map(|(number, places)| format!("§{number} (cited at {})", places.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "sections cited but not headings of docs/spec.md:\n  {}",
        missing.join("\n  ")
    );
}
