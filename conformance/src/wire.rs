//! Small checkers for the grammar of PROTOCOL.md §3, written from the text of the spec.
//!
//! These are deliberately independent of the `spec` crate: the suite must not share a bug
//! with the reference parser. Each function names the ABNF rule it checks.

/// `nick = 1*32nickchar`, `nickchar = ALPHA / DIGIT / "_" / "-"`.
pub fn is_nick(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `ping-token = 1*32nickchar`.
pub fn is_ping_token(s: &str) -> bool {
    is_nick(s)
}

/// `token = 32hexlower` and `ticket = 32hexlower`.
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `msg-id = %x31-39 *15DIGIT` with value 1..9007199254740991.
pub fn msg_id(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 16 || !(b'1'..=b'9').contains(&b[0]) {
        return None;
    }
    if !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u64 = s.parse().ok()?;
    (v <= 9_007_199_254_740_991).then_some(v)
}

/// `time = "0" / %x31-39 *10DIGIT`.
pub fn time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if s == "0" {
        return Some(0);
    }
    if b.is_empty() || b.len() > 11 || !(b'1'..=b'9').contains(&b[0]) {
        return None;
    }
    if !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.parse().ok()
}

/// `error-code = 1*32(%x41-5A / "_")`, plus DIGIT.
///
/// PROTOCOL.md's own code `BAD_UTF8` has a digit, which the rule as written does not
/// allow; the suite accepts digits (reported as a spec defect: the rule should read
/// `1*32(%x41-5A / DIGIT / "_")`).
pub fn is_error_code(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// `len = %x31-39 *3DIGIT` (value 1..MAX_TEXT) followed by `":" text` whose octet count is
/// the value. Returns the text.
pub fn text_field(s: &str) -> Result<&str, String> {
    let Some((len, text)) = s.split_once(':') else {
        return Err("no ':' between <len> and <text>".into());
    };
    let lb = len.as_bytes();
    if lb.is_empty()
        || lb.len() > 4
        || !(b'1'..=b'9').contains(&lb[0])
        || !lb.iter().all(u8::is_ascii_digit)
    {
        return Err(format!("<len> {len:?} breaks `len = %x31-39 *3DIGIT`"));
    }
    let n: usize = len.parse().map_err(|_| format!("<len> {len:?}"))?;
    if n > 1024 {
        return Err(format!("<len> {n} exceeds MAX_TEXT (1024)"));
    }
    if n != text.len() {
        return Err(format!("<len> is {n} but <text> has {} octets", text.len()));
    }
    if text.bytes().any(|b| b == 0 || b == b'\r' || b == b'\n') {
        return Err("<text> contains NUL, CR or LF".into());
    }
    Ok(text)
}

/// An `ERR:<code>:<len>:<text>` line, checked against `error` and `text-field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrLine {
    pub code: String,
    pub text: String,
}

/// Parses an `error` line; `Err` says which part breaks the grammar.
pub fn parse_err(line: &str) -> Result<ErrLine, String> {
    let rest = line
        .strip_prefix("ERR:")
        .ok_or_else(|| "not an ERR line".to_owned())?;
    let (code, tf) = rest
        .split_once(':')
        .ok_or_else(|| "no ':' after the error code".to_owned())?;
    if !is_error_code(code) {
        return Err(format!("error code {code:?} breaks `error-code`"));
    }
    let text = text_field(tf)?;
    Ok(ErrLine {
        code: code.to_owned(),
        text: text.to_owned(),
    })
}

/// `ipv4 = dec-octet "." dec-octet "." dec-octet "." dec-octet` (no leading zeros).
pub fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            let b = p.as_bytes();
            !b.is_empty()
                && b.len() <= 3
                && b.iter().all(u8::is_ascii_digit)
                && !(b.len() > 1 && b[0] == b'0')
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// `IPv6address` of RFC 3986 §3.2.2 (no zone identifier).
pub fn is_ipv6(s: &str) -> bool {
    // std's parser accepts exactly the RFC 4291 text forms (including an embedded IPv4
    // tail), which is what RFC 3986's IPv6address describes; zone ids are not accepted.
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        && s.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `port = %x31-39 *4DIGIT` with value 1..65535.
pub fn is_port(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 5
        && (b'1'..=b'9').contains(&b[0])
        && b.iter().all(u8::is_ascii_digit)
        && s.parse::<u32>().is_ok_and(|v| v <= 65535)
}

/// Splits `<ip>:<port>` at the start of `s` (the ip an ipv4 or a bracketed ipv6); returns
/// `(ip, port, rest)` where `rest` is what follows the port (empty or starting with ':').
pub fn split_address(s: &str) -> Option<(&str, &str, &str)> {
    let (ip, after) = if s.starts_with('[') {
        let close = s.find(']')?;
        let ip = &s[..=close];
        if !is_ipv6(&ip[1..ip.len() - 1]) {
            return None;
        }
        (ip, &s[close + 1..])
    } else {
        let end = s.find(':')?;
        let ip = &s[..end];
        if !is_ipv4(ip) {
            return None;
        }
        (ip, &s[end..])
    };
    let after = after.strip_prefix(':')?;
    let end = after.find(':').unwrap_or(after.len());
    let port = &after[..end];
    if !is_port(port) {
        return None;
    }
    Some((ip, port, &after[end..]))
}

/// One entry of a `LIST` reply: `(nick, "ip:port")`.
pub type Entry = (String, String);

/// Parses `list-reply = %s"LIST" *(":" nick ":" address)`.
pub fn parse_list(line: &str) -> Result<Vec<Entry>, String> {
    let mut rest = line
        .strip_prefix("LIST")
        .ok_or_else(|| "not a LIST line".to_owned())?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let r = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("expected ':' at {rest:?}"))?;
        let (nick, r) = r
            .split_once(':')
            .ok_or_else(|| format!("entry {r:?} has no address"))?;
        if !is_nick(nick) {
            return Err(format!("entry nick {nick:?} breaks `nick`"));
        }
        let (ip, port, r) =
            split_address(r).ok_or_else(|| format!("entry of {nick} has a bad address: {r:?}"))?;
        out.push((nick.to_owned(), format!("{ip}:{port}")));
        rest = r;
    }
    Ok(out)
}

/// Escapes bytes for a transcript: printable ASCII as is, everything else as `\xNN`
/// (`\r`, `\n`, `\t`, `\0` by name), valid non-ASCII UTF-8 kept.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0 => out.push_str("\\0"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            0x80.. => {
                // Keep a valid UTF-8 sequence readable; escape anything else.
                let len = match b {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf4 => 4,
                    _ => 0,
                };
                if len > 0
                    && let Some(chunk) = bytes.get(i..i + len)
                    && let Ok(s) = std::str::from_utf8(chunk)
                {
                    out.push_str(s);
                    i += len;
                    continue;
                }
                out.push_str(&format!("\\x{b:02X}"));
            }
            _ => out.push_str(&format!("\\x{b:02X}")),
        }
        i += 1;
    }
    out
}

/// Shortens a long transcript line: keeps the head and tail and says how much was cut.
pub fn abbreviate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut head = max * 2 / 3;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - max / 4;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}…[{} bytes cut]…{}", &s[..head], tail - head, &s[tail..])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn grammar_checks() {
        assert!(is_nick("a"));
        assert!(is_nick(&"x".repeat(32)));
        assert!(!is_nick(&"x".repeat(33)));
        assert!(!is_nick("a.b"));
        assert!(is_hex32("0123456789abcdef0123456789abcdef"));
        assert!(!is_hex32("0123456789ABCDEF0123456789abcdef"));
        assert_eq!(msg_id("9007199254740991"), Some(9_007_199_254_740_991));
        assert_eq!(msg_id("9007199254740992"), None);
        assert_eq!(msg_id("01"), None);
        assert_eq!(time("0"), Some(0));
        assert_eq!(time("00"), None);
        assert!(is_ipv4("127.0.0.1"));
        assert!(!is_ipv4("127.0.0.01"));
        assert!(!is_ipv4("256.0.0.1"));
        assert!(is_ipv6("fe80::1"));
        assert!(!is_ipv6("fe80::1%eth0"));
        assert!(is_port("65535"));
        assert!(!is_port("65536"));
        assert!(!is_port("0"));
        assert!(!is_port("080"));
    }

    #[test]
    fn err_and_list() {
        let e = parse_err("ERR:NO_SUCH_NICK:13:carol is away").unwrap();
        assert_eq!(e.code, "NO_SUCH_NICK");
        assert!(parse_err("ERR:NO_SUCH_NICK:14:carol is away").is_err());
        assert!(parse_err("ERR:bad:1:x").is_err());
        let l = parse_list("LIST:alice:192.168.1.10:5000:bob:[fe80::1]:5001").unwrap();
        assert_eq!(
            l,
            vec![
                ("alice".into(), "192.168.1.10:5000".into()),
                ("bob".into(), "[fe80::1]:5001".into())
            ]
        );
        assert_eq!(parse_list("LIST").unwrap(), vec![]);
        assert!(parse_list("LIST:").is_err());
        assert!(parse_list("LIST:a:1.2.3.4").is_err());
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(b"a\r\n\x00\xff\xc3\xa9"), "a\\r\\n\\0\\xFFé");
        assert_eq!(abbreviate("abcdefghij", 20), "abcdefghij");
        assert!(abbreviate(&"x".repeat(100), 20).contains("bytes cut"));
    }
}
