//! Every transcript of `spec/examples/*.txt` (format: `spec/examples/README.md`):
//! each line decodes in its context (`C` client line, `S` server line, `P` peer
//! line, `U` datagram), with `${name}` placeholders replaced by a sample value of
//! the field in that position (the first that decodes binds the name); a line
//! that does not decode must be one the transcript shows being refused with that
//! very code (the next line the other side sends on that connection is
//! `ERR:<code>:...`); `! raw` bytes go through the framer and are judged the
//! same way; and its `# covers:` IDs are requirements of `PROTOCOL.md`.
//!
//! While the directory holds no transcript the test passes; it fails on the
//! first transcript with a defect and lists them all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use common::requirements::protocol_ids;
use common::{spec_dir, unhex};
use spec::{ClientLine, Datagram, DecodeError, ErrorCode, Frame, Framer, PeerLine, ServerLine};

/// Sample values tried for a placeholder, in order: a token or ticket, a
/// message id, a time, a nick, a ping token or text.
const CANDIDATES: [&str; 5] = [
    "0123456789abcdef0123456789abcdef",
    "17",
    "1763713200",
    "alice",
    "x",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    Client,
    Server,
    Peer,
    Datagram,
}

fn decode(ctx: Ctx, line: &[u8]) -> Result<(), DecodeError> {
    match ctx {
        Ctx::Client => ClientLine::decode(line).map(drop),
        Ctx::Server => ServerLine::decode(line).map(drop),
        Ctx::Peer => PeerLine::decode(line).map(drop),
        Ctx::Datagram => Datagram::decode(line).map(drop),
    }
}

/// The placeholder names of a line, in order of first appearance.
fn placeholders(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("${") {
        let Some(end) = rest[at..].find('}') else {
            break;
        };
        let name = rest[at + 2..at + end].to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
        rest = &rest[at + end + 1..];
    }
    names
}

fn substitute(line: &str, values: &BTreeMap<String, &str>) -> String {
    let mut out = line.to_owned();
    for (name, v) in values {
        out = out.replace(&format!("${{{name}}}"), v);
    }
    out
}

/// Decodes `line` with its placeholders filled: bound names keep their value,
/// unbound ones try every candidate. Binds the names on success.
fn decode_with_placeholders(
    ctx: Ctx,
    line: &str,
    bound: &mut BTreeMap<String, &'static str>,
) -> Result<(), DecodeError> {
    let free: Vec<String> = placeholders(line)
        .into_iter()
        .filter(|n| !bound.contains_key(n))
        .collect();
    let combos = CANDIDATES.len().pow(u32::try_from(free.len()).unwrap());
    let mut first_err = None;
    for mut k in 0..combos {
        let mut values: BTreeMap<String, &str> =
            bound.iter().map(|(n, v)| (n.clone(), *v)).collect();
        let mut chosen = Vec::new();
        for n in &free {
            let v = CANDIDATES[k % CANDIDATES.len()];
            k /= CANDIDATES.len();
            values.insert(n.clone(), v);
            chosen.push((n.clone(), v));
        }
        match decode(ctx, substitute(line, &values).as_bytes()) {
            Ok(()) => {
                bound.extend(chosen);
                return Ok(());
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap())
}

/// The code of an `ERR:<code>:...` line.
fn err_code(line: &str) -> Option<&str> {
    line.strip_prefix("ERR:")?.split(':').next()
}

/// What one transcript is checked for; returns its defects.
fn check_transcript(path: &Path, ids: &BTreeSet<String>) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let mut defects = Vec::new();
    let mut bound: BTreeMap<String, &'static str> = BTreeMap::new();
    // Per connection (e.g. "C1", "P2"): codes the other side must answer next.
    let mut expected: BTreeMap<String, VecDeque<(usize, ErrorCode)>> = BTreeMap::new();
    let mut framers: BTreeMap<String, Framer> = BTreeMap::new();
    let mut saw_covers = false;

    for (n, raw_line) in text.lines().enumerate() {
        let at = format!("{name}:{}", n + 1);
        let line = raw_line.trim_end_matches('\r');
        if n == 0 && !line.starts_with("# ") {
            defects.push(format!("{at}: line 1 is not `# <title>`"));
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(covers) = line.strip_prefix("# covers:") {
            saw_covers = true;
            for id in covers.split_whitespace() {
                if !ids.contains(id) {
                    defects.push(format!(
                        "{at}: covers {id}, which PROTOCOL.md does not define"
                    ));
                }
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some(directive) = line.strip_prefix("! ") {
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words.as_slice() {
                ["raw", conn, hex] if conn.starts_with('C') => {
                    let framer = framers.entry((*conn).to_owned()).or_default();
                    framer.push(&unhex(hex));
                    let queue = expected.entry(format!("S{}", &conn[1..])).or_default();
                    while let Some(frame) = framer.next_frame() {
                        match frame {
                            Frame::TooLong => queue.push_back((n + 1, ErrorCode::LineTooLong)),
                            Frame::Line(l) => {
                                if let Err(e) = ClientLine::decode(l) {
                                    queue.push_back((n + 1, e.code));
                                }
                            }
                        }
                    }
                }
                ["raw", ..] => defects.push(format!("{at}: unknown raw form: {line}")),
                ["close", conn] => {
                    framers.remove(*conn);
                }
                ["restart"] => framers.clear(),
                ["elapse", secs] if secs.parse::<f64>().is_ok() => {}
                _ => defects.push(format!("{at}: unknown directive: {line}")),
            }
            continue;
        }
        // `C1: `, `S1: `, `P1> `, `P1< `, `U1> `, `U1< `
        let Some((tag, content)) = line.split_once(' ') else {
            defects.push(format!("{at}: not a transcript line: {line}"));
            continue;
        };
        let kind = tag.chars().next().unwrap_or(' ');
        let num = tag
            .trim_start_matches(kind)
            .trim_end_matches([':', '>', '<']);
        let dir = tag.chars().last().unwrap_or(' ');
        let well_formed = num.bytes().all(|b| b.is_ascii_digit())
            && match kind {
                'C' | 'S' => dir == ':' && !num.is_empty(),
                'P' => (dir == '>' || dir == '<') && !num.is_empty(),
                'U' => dir == '>' || dir == '<',
                _ => false,
            };
        if !well_formed {
            defects.push(format!("{at}: not a transcript line: {line}"));
            continue;
        }
        let (ctx, conn, answered_on) = match (kind, dir) {
            ('C', _) => {
                let conn = format!("C{num}");
                framers.entry(conn.clone()).or_default();
                (Ctx::Client, format!("S{num}"), Some(format!("S{num}")))
            }
            ('S', _) => (Ctx::Server, format!("S{num}"), None),
            ('P', '<') => (Ctx::Peer, format!("P{num}<"), Some(format!("P{num}>"))),
            ('P', _) => (Ctx::Peer, format!("P{num}>"), Some(format!("P{num}<"))),
            (_, _) => (Ctx::Datagram, format!("U{num}{dir}"), None),
        };
        // Is this line an answer some earlier bad line is waiting for?
        if let Some((from, code)) = expected.get_mut(&conn).and_then(VecDeque::pop_front)
            && err_code(content) != Some(code.as_str())
        {
            defects.push(format!(
                "{at}: line {from} does not decode ({code}), but the answer is {content:?}"
            ));
        }
        if let Err(e) = decode_with_placeholders(ctx, content, &mut bound) {
            match answered_on {
                Some(other) => expected
                    .entry(other)
                    .or_default()
                    .push_back((n + 1, e.code)),
                None => defects.push(format!(
                    "{at}: does not decode as {ctx:?}: {e}: {content:?}"
                )),
            }
        }
    }
    for (conn, queue) in expected {
        for (from, code) in queue {
            defects.push(format!(
                "{name}:{from}: does not decode ({code}) and {conn} never answers ERR:{code}"
            ));
        }
    }
    if !saw_covers {
        defects.push(format!("{name}: no `# covers:` line"));
    }
    defects
}

#[test]
fn example_transcripts_decode_and_cover_real_requirements() {
    let dir = spec_dir().join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        eprintln!("no example transcripts yet in {}", dir.display());
        return;
    }
    let ids = protocol_ids();
    let defects: Vec<String> = files
        .iter()
        .flat_map(|f| check_transcript(f, &ids))
        .collect();
    assert!(
        defects.is_empty(),
        "{} defect(s) in spec/examples:\n{}",
        defects.len(),
        defects.join("\n")
    );
}

#[test]
fn placeholder_names_are_found() {
    assert_eq!(placeholders("MSG:${id}:a:${t}:1:${id}"), ["id", "t"]);
    let mut bound = BTreeMap::new();
    assert!(decode_with_placeholders(Ctx::Server, "MSG:${id}:alice:${t}:2:hi", &mut bound).is_ok());
    assert_eq!(bound["id"], "17");
    assert_eq!(bound["t"], "17");
}

#[test]
fn a_defective_transcript_is_reported() {
    let path = std::env::temp_dir().join(format!("p2pchat-example-{}.txt", std::process::id()));
    std::fs::write(
        &path,
        "# A broken transcript\n# covers: REG-1 NOPE-1\n\
         C1: REGISTER:b@d:127.0.0.1:5000\nS1: ERR:BAD_NICK:3:bad\n\
         C1: QUERY\nS1: ERR:BAD_NICK:3:bad\n\
         S1: LIST:alice\n\
         ! raw C1 50494e473a800d0a\n\
         P1< HELLO:bob:${t}\nP1> HELLO:alice:${t}\nP1< MSG:1:bob:${t}:2:hi\n",
    )
    .unwrap();
    let ids: BTreeSet<String> = ["REG-1".to_owned()].into();
    let defects = check_transcript(&path, &ids);
    std::fs::remove_file(&path).unwrap();
    let joined = defects.join("\n");
    assert!(joined.contains("covers NOPE-1"), "{joined}");
    assert!(
        joined.contains("does not decode (MALFORMED), but the answer is"),
        "{joined}"
    );
    assert!(joined.contains("does not decode as Server"), "{joined}");
    assert!(joined.contains("never answers ERR:BAD_UTF8"), "{joined}");
    assert!(
        joined.contains(":11: does not decode as Peer") || joined.contains("P1>"),
        "{joined}"
    );
    assert_eq!(defects.len(), 5, "{joined}");
}
