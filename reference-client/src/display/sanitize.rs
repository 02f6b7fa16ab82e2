//! Text received from the network must not drive the user's terminal (§18, §20):
//! control characters (C0, DEL, C1) are shown as visible escapes, which also
//! defuses every escape sequence (they all start with ESC or a C1 control).

use std::fmt::Write;

/// Returns `s` with every control character replaced by a visible form:
/// C0 and DEL as `^X` (`^[` for ESC, `^?` for DEL), C1 as `\u{80}`-style escapes.
/// Tab becomes a space. Printable text, `:` and non-ASCII letters are unchanged.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            '\u{80}'..='\u{9f}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            // Bidirectional overrides can make text read differently from what
            // it is; show them too.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_neutralised() {
        assert_eq!(sanitize("hi\x1b[2Jthere"), "hi^[[2Jthere");
        assert_eq!(sanitize("bell\x07"), "bell^G");
        assert_eq!(sanitize("del\x7f"), "del^?");
        assert_eq!(sanitize("csi\u{9b}31m"), "csi\\u{9b}31m");
        assert_eq!(sanitize("a\tb"), "a b");
        assert_eq!(sanitize("\u{202e}evil"), "\\u{202e}evil");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for s in ["hello: all!", "héllo wörld ✓", "日本語", "a:b:c"] {
            assert_eq!(sanitize(s), s);
        }
    }

    #[test]
    fn output_never_holds_a_control_character() {
        let all: String = (0u32..0x250).filter_map(char::from_u32).collect();
        assert!(!sanitize(&all).chars().any(char::is_control));
    }
}
