//! FASTA input (plain or gzip, multi-record) and output of generated samples.
//!
//! Reading is two streaming passes over the file: a light pre-scan that checks the syntax and
//! remembers the line of every header (`bio` reports neither line numbers nor bad letters), then
//! `bio::io::fasta` for the records. Bases are upper-cased (soft-masked lower case is ordinary
//! sequence) and every letter other than A, C, G, T becomes `N`, so that the tokenizer sees the
//! five symbols A C G T N only; both changes are counted in [`FastaStats`].

use diffusion_core::CoreError;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::ops::AddAssign;
use std::path::{Path, PathBuf};

use bio::io::fasta;
use flate2::read::MultiGzDecoder;

use crate::error::{GenomicsError, Result};

/// First two bytes of every gzip member (RFC 1952); detection does not trust the extension.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Line width of written FASTA, as in the shipped genomes.
pub const FASTA_LINE_WIDTH: usize = 80;

const BUFFER_BYTES: usize = 1 << 16;

/// One FASTA record after normalisation: `seq` holds only `A C G T N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FastaRecord {
    /// Header text up to the first whitespace.
    pub id: String,
    /// Header text after the first whitespace, if any.
    pub desc: Option<String>,
    /// Upper-case bases; IUPAC codes and other letters are `N`.
    pub seq: Vec<u8>,
    /// 1-based line of the `>` header, for error messages further down the pipeline.
    pub line: usize,
}

/// What normalisation did to a file (or, summed, to a species).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FastaStats {
    /// Number of records.
    pub records: usize,
    /// Number of bases (letters) over all records.
    pub bases: u64,
    /// Lower-case (soft-masked) letters that were upper-cased.
    pub lowercase: u64,
    /// Letters other than A/C/G/T in either case (including `N` itself) that are now `N`.
    pub non_acgt: u64,
}

impl AddAssign for FastaStats {
    fn add_assign(&mut self, other: Self) {
        self.records += other.records;
        self.bases += other.bases;
        self.lowercase += other.lowercase;
        self.non_acgt += other.non_acgt;
    }
}

/// A whole FASTA file, read and normalised.
#[derive(Clone, Debug)]
pub struct FastaFile {
    pub path: PathBuf,
    pub records: Vec<FastaRecord>,
    pub stats: FastaStats,
}

/// Reads a plain or gzip-compressed FASTA file (gzip recognised by its magic bytes; multi-member
/// gzip such as bgzip is read to the end).
///
/// Errors name the file and line for: sequence data before the first header, a header without a
/// name, a record without bases, a character that is not a letter (digits, `-`, `*`, spaces
/// inside a line, non-ASCII), and a file without any record. Blank lines are allowed anywhere.
pub fn read_fasta(path: impl AsRef<Path>) -> Result<FastaFile> {
    let path = path.as_ref();
    let headers = prescan(open(path)?, path)?;

    let mut reader = open(path)?;
    skip_leading_whitespace(&mut reader).map_err(|e| CoreError::io(path, e))?;
    let mut stats = FastaStats::default();
    let mut records = Vec::with_capacity(headers.len());
    for (index, record) in fasta::Reader::from_bufread(reader).records().enumerate() {
        let record = record.map_err(|e| CoreError::io(path, e))?;
        let line = *headers
            .get(index)
            .ok_or_else(|| changed_while_reading(path))?;
        let seq = normalise(record.seq(), &mut stats)
            .ok_or_else(|| CoreError::parse(path, line, "record changed while reading"))?;
        stats.records += 1;
        records.push(FastaRecord {
            id: record.id().to_owned(),
            desc: record
                .desc()
                .map(|d| d.trim_start().to_owned())
                .filter(|d| !d.is_empty()),
            seq,
            line,
        });
    }
    if records.len() != headers.len() {
        return Err(changed_while_reading(path));
    }
    Ok(FastaFile {
        path: path.to_owned(),
        records,
        stats,
    })
}

fn changed_while_reading(path: &Path) -> GenomicsError {
    CoreError::input(path, "file changed while it was being read").into()
}

/// Opens `path`, decompressing on the fly when it starts with the gzip magic bytes.
fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).map_err(|e| CoreError::io(path, e))?;
    let mut reader = BufReader::with_capacity(BUFFER_BYTES, file);
    let head = reader.fill_buf().map_err(|e| CoreError::io(path, e))?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// `bio` wants `>` as the very first byte; the pre-scan allows leading blank lines, so drop them.
fn skip_leading_whitespace(reader: &mut dyn BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let whole_buffer = blank == buf.len();
        reader.consume(blank);
        if !whole_buffer {
            return Ok(());
        }
    }
}

/// Checks the syntax line by line and returns the 1-based line of every header, in order.
fn prescan(mut reader: impl BufRead, path: &Path) -> Result<Vec<usize>> {
    let mut headers = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut bases_in_current = 0u64;
    let mut line = Vec::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| CoreError::io(path, e))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let text = line.trim_ascii_end();
        if let Some(header) = text.strip_prefix(b">") {
            if let Some((at, id)) = current.take()
                && bases_in_current == 0
            {
                return Err(empty_record(path, at, &id));
            }
            let header = std::str::from_utf8(header)
                .map_err(|_| CoreError::parse(path, line_no, "header line is not valid UTF-8"))?;
            let id = header.split(char::is_whitespace).next().unwrap_or("");
            if id.is_empty() {
                return Err(CoreError::parse(
                    path,
                    line_no,
                    "header has no sequence name after '>'",
                )
                .into());
            }
            headers.push(line_no);
            current = Some((line_no, id.to_owned()));
            bases_in_current = 0;
        } else if !text.is_empty() {
            if current.is_none() {
                return Err(CoreError::parse(
                    path,
                    line_no,
                    "sequence data before the first '>' header",
                )
                .into());
            }
            if let Some(column) = text.iter().position(|b| !b.is_ascii_alphabetic()) {
                return Err(CoreError::parse(
                    path,
                    line_no,
                    format!(
                        "invalid character {} in sequence at column {}; only letters are bases",
                        describe_byte(text[column]),
                        column + 1
                    ),
                )
                .into());
            }
            bases_in_current += text.len() as u64;
        }
    }
    match current {
        None => Err(CoreError::input(
            path,
            "no FASTA records (the file is empty or has only blank lines)",
        )
        .into()),
        Some((at, id)) if bases_in_current == 0 => Err(empty_record(path, at, &id)),
        Some(_) => Ok(headers),
    }
}

fn empty_record(path: &Path, line: usize, id: &str) -> GenomicsError {
    CoreError::parse(path, line, format!("record '{id}' has no sequence")).into()
}

fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", byte as char)
    } else {
        format!("byte 0x{byte:02x}")
    }
}

/// Upper-cases, maps non-ACGT letters to `N` and counts both; `None` on a non-letter.
fn normalise(seq: &[u8], stats: &mut FastaStats) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(seq.len());
    for &byte in seq {
        if !byte.is_ascii_alphabetic() {
            return None;
        }
        if byte.is_ascii_lowercase() {
            stats.lowercase += 1;
        }
        let base = byte.to_ascii_uppercase();
        out.push(match base {
            b'A' | b'C' | b'G' | b'T' => base,
            _ => {
                stats.non_acgt += 1;
                b'N'
            }
        });
    }
    stats.bases += seq.len() as u64;
    Some(out)
}

/// A generated sequence and the species it was generated for; written as
/// `>sample_17 species=ecoli class=5`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedSample {
    /// Species name; whitespace and `=` are written as `_` so that the header stays parseable.
    pub species: String,
    /// Class id the sample was conditioned on (the label the oracle should predict).
    pub class: usize,
    /// Bases, ASCII letters (normally `A C G T N`).
    pub seq: Vec<u8>,
}

/// Streams generated samples to FASTA, numbering them `sample_0`, `sample_1`, ...
pub struct SampleWriter<W: Write> {
    writer: fasta::Writer<W>,
    path: PathBuf,
    next_index: usize,
}

impl<W: Write> SampleWriter<W> {
    /// Wraps any writer; `path` only names the destination in error messages.
    pub fn new(writer: W, path: impl Into<PathBuf>) -> Self {
        let mut writer = fasta::Writer::new(writer);
        writer.set_linewrap(Some(FASTA_LINE_WIDTH));
        Self {
            writer,
            path: path.into(),
            next_index: 0,
        }
    }

    /// Writes one sample. Empty sequences and non-letter bytes are refused, since the reader
    /// would reject the file they produce.
    pub fn write(&mut self, sample: &GeneratedSample) -> Result<()> {
        let id = format!("sample_{}", self.next_index);
        if sample.seq.is_empty() {
            return Err(CoreError::input(&self.path, format!("{id}: empty sequence")).into());
        }
        if let Some(&byte) = sample.seq.iter().find(|b| !b.is_ascii_alphabetic()) {
            return Err(CoreError::input(
                &self.path,
                format!("{id}: {} is not a base letter", describe_byte(byte)),
            )
            .into());
        }
        let species: String = sample
            .species
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == '=' {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let desc = format!("species={species} class={}", sample.class);
        self.writer
            .write(&id, Some(&desc), &sample.seq)
            .map_err(|e| CoreError::io(&self.path, e))?;
        self.next_index += 1;
        Ok(())
    }

    /// Flushes the buffered output; call before dropping to see write errors.
    pub fn finish(mut self) -> Result<()> {
        Ok(self
            .writer
            .flush()
            .map_err(|e| CoreError::io(&self.path, e))?)
    }
}

/// Writes `samples` to `path` as `sample_0 .. sample_{n-1}`.
/// Written atomically (temporary file, fsync, rename): an interrupted write leaves the old file.
pub fn write_samples(path: impl AsRef<Path>, samples: &[GeneratedSample]) -> Result<()> {
    let path = path.as_ref();
    let mut out = diffusion_core::atomic_file::AtomicFile::create(path)?;
    let mut writer = SampleWriter::new(&mut out, path);
    for sample in samples {
        writer.write(sample)?;
    }
    writer.finish()?;
    Ok(out.commit()?)
}

/// The value of `key=value` in a FASTA description, if present.
fn header_field<'a>(desc: &'a str, key: &str) -> Option<&'a str> {
    desc.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// Reads samples written by [`SampleWriter`] (or any FASTA whose descriptions carry
/// `class=<id>`, optionally `species=<name>`), e.g. to evaluate a samples file.
pub fn read_samples(path: impl AsRef<Path>) -> Result<Vec<GeneratedSample>> {
    let file = read_fasta(path)?;
    file.records
        .into_iter()
        .map(|record| {
            let field = |key: &str| header_field(record.desc.as_deref().unwrap_or(""), key);
            let class = field("class")
                .ok_or_else(|| {
                    CoreError::parse(&file.path, record.line, "header has no 'class=<id>'")
                })?
                .parse::<usize>()
                .map_err(|e| {
                    CoreError::parse(&file.path, record.line, format!("bad class id: {e}"))
                })?;
            Ok(GeneratedSample {
                species: field("species").unwrap_or("").to_owned(),
                class,
                seq: record.seq,
            })
        })
        .collect()
}

/// Reads a samples file to score against the species `classes` (in class-id order): each
/// header names its species by `species=<name>`, by `class=<id>`, or both, and both must then
/// agree. Errors name the file and line of the first header that names no known species or
/// contradicts itself.
pub fn read_samples_for(
    path: impl AsRef<Path>,
    classes: &[String],
) -> Result<Vec<GeneratedSample>> {
    samples_for(read_fasta(path)?, classes)
}

/// [`read_samples_for`] on a FASTA file already read.
pub fn samples_for(file: FastaFile, classes: &[String]) -> Result<Vec<GeneratedSample>> {
    let known = || classes.join(", ");
    file.records
        .into_iter()
        .map(|record| {
            let field = |key: &str| header_field(record.desc.as_deref().unwrap_or(""), key);
            let bad =
                |why: String| GenomicsError::from(CoreError::parse(&file.path, record.line, why));
            let by_name = match field("species") {
                Some(name) => {
                    Some(classes.iter().position(|c| c == name).ok_or_else(|| {
                        bad(format!("species '{name}' is not one of {}", known()))
                    })?)
                }
                None => None,
            };
            let by_id = match field("class") {
                Some(id) => {
                    let k = id
                        .parse::<usize>()
                        .map_err(|e| bad(format!("bad class id '{id}': {e}")))?;
                    if k >= classes.len() {
                        return Err(bad(format!(
                            "class {k} is beyond the {} species ({})",
                            classes.len(),
                            known()
                        )));
                    }
                    Some(k)
                }
                None => None,
            };
            let class = match (by_name, by_id) {
                (Some(a), Some(b)) if a != b => {
                    return Err(bad(format!(
                        "species '{}' is class {a}, but the header says class={b}",
                        classes[a]
                    )));
                }
                (Some(a), _) | (None, Some(a)) => a,
                (None, None) => {
                    return Err(bad(
                        "header names no species: add 'species=<name>' (or 'class=<id>')".into(),
                    ));
                }
            };
            Ok(GeneratedSample {
                species: classes[class].clone(),
                class,
                seq: record.seq,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_name_their_species_by_name_id_or_both_consistently() {
        let dir = std::env::temp_dir().join(format!("gdd-fa-species-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let classes: Vec<String> = ["ecoli", "human"].map(String::from).to_vec();
        let read = |text: &str| {
            let p = dir.join("s.fa");
            std::fs::write(&p, text).unwrap();
            read_samples_for(&p, &classes).map_err(|e| e.to_string())
        };
        let s =
            read(">a species=human\nACGT\n>b class=0\nAC\n>c species=ecoli class=0\nA\n").unwrap();
        assert_eq!(
            s.iter()
                .map(|x| (x.class, x.species.as_str()))
                .collect::<Vec<_>>(),
            [(1, "human"), (0, "ecoli"), (0, "ecoli")]
        );
        let e = read(">a species=human\nACGT\n>b species=ecoli class=1\nAC\n").unwrap_err();
        assert!(
            e.contains("s.fa") && e.contains(":3") && e.contains("class=1"),
            "{e}"
        );
        assert!(
            read(">a species=yeast\nAC\n")
                .unwrap_err()
                .contains("yeast")
        );
        assert!(read(">a class=2\nAC\n").unwrap_err().contains("beyond"));
        assert!(read(">a\nAC\n").unwrap_err().contains("species=<name>"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn normalise_counts_lowercase_and_iupac() {
        let mut stats = FastaStats::default();
        let seq = normalise(b"acgtNRYkm", &mut stats);
        assert_eq!(seq.as_deref(), Some(&b"ACGTNNNNN"[..]));
        assert_eq!(stats.bases, 9);
        assert_eq!(stats.lowercase, 6);
        assert_eq!(stats.non_acgt, 5);
        assert_eq!(normalise(b"AC1", &mut stats), None);
    }

    #[test]
    fn prescan_reports_header_lines() {
        let text = b"\n>a x\nAC\n\n>b\nGT\n";
        let headers = prescan(&text[..], Path::new("t.fa"));
        assert_eq!(headers.ok(), Some(vec![2, 5]));
    }
}
