//! Fuzzing of the genomics parsers of outside input (see `diffusion_core::fuzz`): FASTA files
//! (plain and gzip) and sample files scored by `eval`. Each must give `Ok` or an error naming
//! the file, never a panic. Cases: a quarter of `GDD_FUZZ_CASES` (default 2,000), since each
//! case is a file.

use diffusion_core::fuzz::{Fuzzer, cases, check_no_panic};
use genomics::{read_fasta, read_samples_for};

#[test]
fn fuzz_fasta_and_sample_files() {
    let dir = std::env::temp_dir().join(format!("dna-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = ">chr1 some description\nACGTNacgtn\nRYKM\n\n>s2 species=ecoli class=0\nACGT\n>s3 species=human\nGGCC\n";
    let classes: Vec<String> = ["ecoli", "human"].map(String::from).to_vec();
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
    }
    let (plain, zipped) = (dir.join("f.fa"), dir.join("f.fa.gz"));
    let mut f = Fuzzer::new(20);
    check_no_panic(
        "FASTA",
        cases().div_ceil(4),
        |k| {
            if k % 4 == 3 {
                (true, f.mutate(&gz, &[]))
            } else {
                (false, f.mutate(text.as_bytes(), b">\nACGTN =class"))
            }
        },
        |(is_gz, bytes)| {
            let p = if *is_gz { &zipped } else { &plain };
            std::fs::write(p, bytes).unwrap();
            let _ = read_fasta(p);
            let _ = read_samples_for(p, &classes);
        },
    );
    std::fs::remove_dir_all(&dir).ok();
}
