//! The shipped corpus: the split is disjoint and covers the file, the chunks are exactly the
//! split's characters in order, and the tokenizer round-trips the whole file.

use diffusion_core::domain::{SequenceDataset, Tokenizer};
use std::path::PathBuf;
use text::config::DataConfig;
use text::corpus::load_corpus;
use text::data::prepare;
use text::tokenizer::{decode, encode_stream, text8};

fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/text/text8style_austen_shakespeare.txt.gz")
}

#[test]
fn split_is_disjoint_and_covers_the_file() {
    let cfg = DataConfig {
        path: shipped(),
        ..Default::default()
    };
    let d = prepare(&cfg, None).unwrap();
    let (r, l) = (&d.report, cfg.seq_len);
    assert_eq!(
        r.chars, 4_933_336,
        "PROVENANCE.md gives 4,933,336 characters"
    );
    assert_eq!(r.split.train.start, 0);
    assert_eq!(r.split.train.end, r.split.val.start, "no gap, no overlap");
    assert_eq!(r.split.val.end, r.chars);
    assert_eq!(r.split.val.len(), 246_667, "5 % of the characters");
    // Every character of each split is in exactly one chunk, except a tail shorter than L.
    for (set, range) in [(&d.train, &r.split.train), (&d.val, &r.split.val)] {
        assert_eq!(set.seq_len(), l);
        assert!(set.len() * l <= range.len() && range.len() < (set.len() + 1) * l);
    }
    assert_eq!(r.unused_chars, r.chars - (d.train.len() + d.val.len()) * l);
    // The chunks are the split's characters in order.
    let ids = encode_stream(&d.tokenizer, &load_corpus(&shipped(), false).unwrap());
    assert_eq!(d.train.tokens[..], ids[..d.train.len() * l]);
    let v0 = r.split.val.start;
    assert_eq!(d.val.tokens[..], ids[v0..v0 + d.val.len() * l]);
}

#[test]
fn tokenizer_round_trips_the_whole_file() {
    let text = load_corpus(&shipped(), false).unwrap();
    let tok = text8();
    assert_eq!(tok.vocab_size(), 32, "5 core specials + 27 symbols");
    let ids = encode_stream(&tok, &text);
    assert_eq!(ids.len(), text.chars().count());
    let specials = tok.vocab.special_ids();
    assert!(ids.iter().all(|&i| i >= 5 && i != specials.mask));
    assert_eq!(decode(&tok, &ids), text);
    let back = text::tokenizer::from_vocabulary(&tok.vocabulary()).unwrap();
    assert_eq!(back, tok);
}
