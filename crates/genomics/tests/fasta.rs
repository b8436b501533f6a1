//! FASTA reading (plain, gzip, multi-record, soft-masked, IUPAC, malformed) and sample writing.

use diffusion_core::CoreError;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use genomics::fasta::{GeneratedSample, SampleWriter, read_fasta, read_samples, write_samples};
use genomics::{FastaStats, GenomicsError};

/// A fresh directory for one test's fixture files.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genomics-fasta-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Two records, soft-masked bases and IUPAC codes, desc with spaces.
const MIXED: &[u8] = b">chr1 first record\nACGTacgtNN\nRYKM\n>chr2\nGGCC\n";

fn check_mixed(path: &Path) {
    let file = read_fasta(path).expect("valid FASTA");
    assert_eq!(file.records.len(), 2);
    let (a, b) = (&file.records[0], &file.records[1]);
    assert_eq!(a.id, "chr1");
    assert_eq!(a.desc.as_deref(), Some("first record"));
    assert_eq!(a.seq, b"ACGTACGTNNNNNN");
    assert_eq!(a.line, 1);
    assert_eq!(b.id, "chr2");
    assert_eq!(b.desc, None);
    assert_eq!(b.seq, b"GGCC");
    assert_eq!(b.line, 4);
    assert_eq!(
        file.stats,
        FastaStats {
            records: 2,
            bases: 18,
            lowercase: 4,
            non_acgt: 6,
        }
    );
}

#[test]
fn plain_multi_record_with_lowercase_and_iupac() {
    let dir = temp_dir("plain");
    check_mixed(&write(&dir, "mixed.fa", MIXED));
}

#[test]
fn gzip_is_detected_by_magic_bytes_not_extension() {
    let dir = temp_dir("gzip");
    check_mixed(&write(&dir, "mixed.fa", &gzip(MIXED)));
    // A plain file named .gz is read as plain text.
    check_mixed(&write(&dir, "plain.fa.gz", MIXED));
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    // bgzip writes many gzip members; a single-member decoder would stop after the first.
    let dir = temp_dir("bgzip");
    let mut bytes = gzip(b">a\nACGT\n");
    bytes.extend(gzip(b">b\nTTTT\n"));
    let file = read_fasta(write(&dir, "two.fa.gz", &bytes)).expect("valid");
    let ids: Vec<_> = file.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
}

#[test]
fn crlf_blank_lines_and_trailing_spaces_are_accepted() {
    let dir = temp_dir("crlf");
    let text = b"\r\n\r\n>x desc\r\nAC \r\n\r\nGT\r\n\r\n>y\r\nA\r\n\r\n";
    let file = read_fasta(write(&dir, "crlf.fa", text)).expect("valid");
    assert_eq!(file.records[0].seq, b"ACGT");
    assert_eq!(file.records[0].line, 3);
    assert_eq!(file.records[1].seq, b"A");
    assert_eq!(file.records[1].line, 8);
}

/// Reads `text` from a fresh file and returns the error and its message.
fn read_error(test: &str, text: &[u8]) -> (GenomicsError, String) {
    let dir = temp_dir(test);
    let path = write(&dir, "bad.fa", text);
    let err = read_fasta(&path).expect_err("malformed input must fail");
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "message does not name the file: {message}"
    );
    (err, message)
}

fn assert_line(err: &GenomicsError, expected: usize) {
    match err {
        GenomicsError::Core(CoreError::Parse { line, .. }) => assert_eq!(*line, expected, "{err}"),
        other => panic!("expected a parse error at line {expected}, got {other}"),
    }
}

#[test]
fn data_before_first_header_names_the_line() {
    let (err, message) = read_error("before", b"\nACGT\n>x\nAC\n");
    assert_line(&err, 2);
    assert!(message.contains("before the first '>' header"), "{message}");
}

#[test]
fn digits_are_rejected_with_line_and_column() {
    let (err, message) = read_error("digits", b">x\nACGT\nAC1T\n");
    assert_line(&err, 3);
    assert!(
        message.contains("'1'") && message.contains("column 3"),
        "{message}"
    );
    // The reading is the same through gzip.
    let dir = temp_dir("digits-gz");
    let err = read_fasta(write(&dir, "bad.fa.gz", &gzip(b">x\nACGT\nAC1T\n")));
    assert_line(&err.expect_err("digits"), 3);
}

#[test]
fn gaps_and_inner_spaces_are_rejected() {
    let (err, _) = read_error("gap", b">x\nAC-GT\n");
    assert_line(&err, 2);
    let (err, _) = read_error("space", b">x\nAC GT\n");
    assert_line(&err, 2);
    let (err, message) = read_error("utf8", ">x\nACGTé\n".as_bytes());
    assert_line(&err, 2);
    assert!(message.contains("0xc3"), "{message}");
}

#[test]
fn empty_records_are_rejected() {
    let (err, message) = read_error("empty-first", b">a\n>b\nAC\n");
    assert_line(&err, 1);
    assert!(message.contains("'a' has no sequence"), "{message}");
    let (err, message) = read_error("empty-last", b">a\nAC\n>b\n\n");
    assert_line(&err, 3);
    assert!(message.contains("'b' has no sequence"), "{message}");
}

#[test]
fn header_without_name_is_rejected() {
    let (err, message) = read_error("noname", b">a\nAC\n> desc only\nAC\n");
    assert_line(&err, 3);
    assert!(message.contains("no sequence name"), "{message}");
}

#[test]
fn empty_file_is_an_error() {
    for (test, text) in [("empty", &b""[..]), ("blank", &b"\n  \n\n"[..])] {
        let (err, message) = read_error(test, text);
        assert!(
            matches!(err, GenomicsError::Core(CoreError::Input { .. })),
            "{err}"
        );
        assert!(message.contains("no FASTA records"), "{message}");
    }
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = temp_dir("missing");
    let path = dir.join("nope.fa");
    match read_fasta(&path) {
        Err(e @ GenomicsError::Core(CoreError::Io { .. })) => {
            // The reason is printed once, also through an error chain (`{:#}`).
            let text = e.to_string();
            assert!(std::error::Error::source(&e).is_none(), "{text}");
            let GenomicsError::Core(CoreError::Io { path: p, error }) = e else {
                unreachable!()
            };
            assert_eq!(p, path);
            assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
            assert!(text.contains("nope.fa"), "{text}");
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn corrupt_gzip_is_an_io_error() {
    let dir = temp_dir("corrupt");
    let mut bytes = gzip(MIXED);
    bytes.truncate(bytes.len() / 2);
    let err = read_fasta(write(&dir, "cut.fa.gz", &bytes)).expect_err("truncated gzip");
    assert!(
        matches!(err, GenomicsError::Core(CoreError::Io { .. })),
        "{err}"
    );
}

#[test]
fn samples_round_trip_with_headers() {
    let dir = temp_dir("samples");
    let path = dir.join("samples.fa");
    let long: Vec<u8> = b"ACGT".iter().copied().cycle().take(200).collect();
    let samples = vec![
        GeneratedSample {
            species: "ecoli".into(),
            class: 5,
            seq: long.clone(),
        },
        GeneratedSample {
            species: "Homo sapiens".into(),
            class: 0,
            seq: b"ACGTN".to_vec(),
        },
    ];
    write_samples(&path, &samples).expect("write");
    let text = std::fs::read_to_string(&path).expect("read back");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], ">sample_0 species=ecoli class=5");
    assert_eq!(lines[1].len(), 80, "wrapped at 80 columns");
    assert_eq!(lines[4], ">sample_1 species=Homo_sapiens class=0");
    let back = read_samples(&path).expect("parse");
    assert_eq!(back[0], samples[0]);
    assert_eq!(back[1].species, "Homo_sapiens");
    assert_eq!(back[1].class, 0);
    assert_eq!(back[1].seq, b"ACGTN");
}

#[test]
fn sample_writer_refuses_what_the_reader_would_reject() {
    let mut writer = SampleWriter::new(Vec::new(), "memory");
    let sample = |seq: &[u8]| GeneratedSample {
        species: "x".into(),
        class: 1,
        seq: seq.to_vec(),
    };
    assert!(writer.write(&sample(b"")).is_err());
    assert!(writer.write(&sample(b"AC>GT")).is_err());
    assert!(writer.write(&sample(b"ACGT")).is_ok());
    assert!(writer.finish().is_ok());
}

#[test]
fn samples_without_class_are_an_error_naming_the_line() {
    let dir = temp_dir("noclass");
    let path = write(
        &dir,
        "s.fa",
        b">sample_0 species=x class=1\nAC\n>sample_1 species=x\nGT\n",
    );
    let err = read_samples(&path).expect_err("missing class");
    assert_line(&err, 3);
}

/// The shipped data set, found beside the repository (`shared/`) or inside it.
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

#[test]
fn shipped_celegans_genome_matches_its_manifest_row() {
    // 1.04 Mbp, 290 kB gzipped: small enough for a debug-build test.
    let Some(dir) = shipped_genomes() else {
        eprintln!("skipped: shipped genomics data set not found");
        return;
    };
    let file = read_fasta(dir.join("02_celegans.fa.gz")).expect("shipped genome");
    assert_eq!(file.stats.records, 7);
    assert_eq!(file.stats.bases, 1_039_800);
    assert_eq!(file.stats.non_acgt, 0);
    assert_eq!(file.records[0].id, "CHROMOSOME_I");
    assert_eq!(file.records[6].id, "CHROMOSOME_MtDNA");
}
