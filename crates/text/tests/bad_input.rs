//! Bad input is an error that names the file and, for bad characters, where the first one is.

use std::io::Write;
use std::path::{Path, PathBuf};
use text::config::DataConfig;
use text::corpus::load_corpus;
use text::data::prepare;

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("text-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn err(p: &Path) -> String {
    load_corpus(p, false).unwrap_err().to_string()
}

#[test]
fn characters_outside_the_alphabet_name_file_and_place() {
    let p = tmp("upper.txt", b"hello world Hello there\n");
    let e = err(&p);
    assert!(e.contains(&format!("{}:1:13", p.display())), "{e}");
    assert!(e.contains("offset 12") && e.contains("'H'"), "{e}");
    assert!(e.contains("1 such"), "{e}");
    assert!(e.contains("data.normalize"), "{e}");

    let p = tmp("lines.txt.gz", &gz("two lines\nand é".as_bytes()));
    let e = err(&p);
    assert!(e.contains(&format!("{}:1:10", p.display())), "{e}");
    assert!(e.contains("'\\n'") && e.contains("2 such"), "{e}");
    // Normalisation makes the same file usable.
    assert_eq!(load_corpus(&p, true).unwrap(), "two lines and");
}

#[test]
fn empty_short_and_unreadable_files_name_the_file() {
    for (name, bytes) in [("empty.txt", &b""[..]), ("newline.txt", &b"\n"[..])] {
        let p = tmp(name, bytes);
        let e = err(&p);
        assert!(
            e.contains(&p.display().to_string()) && e.contains("no text"),
            "{e}"
        );
    }
    let p = tmp("empty.txt.gz", &gz(b""));
    assert!(err(&p).contains("no text"));

    let p = tmp("short.txt", b"to be or not to be that is the question");
    let cfg = DataConfig {
        path: p.clone(),
        ..Default::default()
    };
    let e = prepare(&cfg, None).err().unwrap().to_string();
    assert!(
        e.contains(&p.display().to_string()) && e.contains("fewer than one chunk of 256"),
        "{e}"
    );

    let p = tmp("broken.txt.gz", &gz(b"abc abc abc")[..12]);
    assert!(err(&p).contains(&p.display().to_string()));
    let p = tmp("latin1.txt", b"caf\xe9");
    let e = err(&p);
    assert!(
        e.contains(&p.display().to_string()) && e.contains("UTF-8"),
        "{e}"
    );
    let p = std::env::temp_dir().join("text-no-such-file.txt");
    assert!(err(&p).contains("text-no-such-file.txt"));
}
