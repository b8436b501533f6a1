//! text8's normalisation (the last stage of Matt Mahoney's `wikifil.pl`), so any English text
//! can be used: lower-case, each digit spelled out, every other character outside a–z becomes a
//! space, runs of spaces are squeezed. The shipped corpus is already normalised this way.

const DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// `text` in the text8 alphabet (leading and trailing spaces removed).
pub fn text8_normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let push_space = |out: &mut String| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    };
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' => out.push(c),
            '0'..='9' => {
                push_space(&mut out);
                out.push_str(DIGITS[c as usize - '0' as usize]);
                out.push(' ');
            }
            _ => push_space(&mut out),
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_text8() {
        assert_eq!(
            text8_normalize("Chapter 11.\n\n  It was—\"Emma!\""),
            "chapter one one it was emma"
        );
        assert_eq!(text8_normalize("\n\n"), "");
    }
}
