//! Seed inputs made from `spec/vectors` and `spec/examples` (run by
//! `cargo run --example make_seeds`, which writes `seeds/<target>/`).
//!
//! Line targets get the vectors' lines as they are. The stateful targets read their
//! input as a script (see [`crate::bytes`]), so each example transcript is written
//! as a script of the same steps: `Cn:` lines become raw writes on connection n
//! (hub, black box), `Sn:` lines raw server lines for a client registered as the
//! example's first user, `Pn>`/`Pn<` lines raw lines on a peer session.

use std::path::Path;

use crate::bytes::Script;

/// The `${name}` placeholders of the examples, replaced by fixed values.
fn fill(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(p) = rest.find("${") {
        out.push_str(&rest[..p]);
        let Some(e) = rest[p..].find('}') else {
            break;
        };
        out.push_str("0123456789abcdef0123456789abcdef");
        rest = &rest[p + e + 1..];
    }
    out.push_str(rest);
    out
}

/// The lines of every vector file: (name, octets).
pub fn vector_lines(spec: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["valid", "invalid"] {
        for ctx in ["client", "server", "peer", "datagram"] {
            let p = spec.join("vectors").join(dir).join(format!("{ctx}.json"));
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let Ok(serde_json::Value::Array(v)) = serde_json::from_str(&text) else {
                continue;
            };
            for e in v {
                let id = e["id"].as_str().unwrap_or("x").to_owned();
                let bytes = if let Some(l) = e["line"].as_str() {
                    l.as_bytes().to_vec()
                } else if let Some(h) = e["line_hex"].as_str() {
                    (0..h.len() / 2)
                        .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
                        .collect()
                } else {
                    continue;
                };
                out.push((id, bytes));
            }
        }
    }
    out
}

/// The framer vectors as `framer_chunks` inputs: limit `MAX_LINE`, the vector's
/// chunk boundaries as cuts.
pub fn framer_inputs(spec: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(text) = std::fs::read_to_string(spec.join("vectors/framer.json")) else {
        return out;
    };
    let Ok(serde_json::Value::Array(v)) = serde_json::from_str(&text) else {
        return out;
    };
    for e in v {
        let id = e["id"].as_str().unwrap_or("x").to_owned();
        let Some(chunks) = e["chunks_hex"].as_array() else {
            continue;
        };
        let chunks: Vec<Vec<u8>> = chunks
            .iter()
            .filter_map(|c| c.as_str())
            .map(|h| {
                (0..h.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
                    .collect()
            })
            .collect();
        for (suffix, limit_index) in [("", 7u8), ("-limit4", 3u8)] {
            let mut s = Script::default();
            s.u8(limit_index);
            let ncuts = chunks.len().saturating_sub(1).min(15);
            s.u8(u8::try_from(ncuts).unwrap_or(15));
            let mut at = 0usize;
            for c in chunks.iter().take(ncuts) {
                at += c.len();
                s.u16(u16::try_from(at).unwrap_or(u16::MAX));
            }
            for c in &chunks {
                s.out.extend_from_slice(c);
            }
            out.push((format!("{id}{suffix}"), s.out));
        }
    }
    out
}

/// Every example transcript: (file stem, lines).
pub fn examples(spec: &Path) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(spec.join("examples")) else {
        return out;
    };
    let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let stem = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("x")
            .to_owned();
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let lines = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(fill)
            .collect();
        out.push((stem, lines));
    }
    out
}

/// `(prefix number, content)` of a line such as `C2: LIST`.
fn split(line: &str, kind: char, seps: &[&str]) -> Option<(usize, String)> {
    let rest = line.strip_prefix(kind)?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: usize = digits.parse().ok()?;
    let after = &rest[digits.len()..];
    for s in seps {
        if let Some(content) = after.strip_prefix(s) {
            let content = content.split("   (").next().unwrap_or(content).trim_end();
            return Some((n, content.trim_start().to_owned()));
        }
    }
    None
}

/// An example as a `hub_sequences` script.
pub fn hub_script(lines: &[String]) -> Vec<u8> {
    let mut s = Script::default();
    // SQLite store, quota 8, queue bound 1 MiB.
    s.u8((7 << 1) | (3 << 4));
    let mut live: Vec<usize> = Vec::new();
    for l in lines {
        let Some((n, content)) = split(l, 'C', &[":"]) else {
            continue;
        };
        if !live.contains(&n) {
            s.u8(0);
            live.push(n);
        }
        let idx = live.iter().position(|x| *x == n).unwrap_or(0);
        s.u8(6).u8(u8::try_from(idx).unwrap_or(0));
        let mut bytes = content.into_bytes();
        let quit = bytes == b"QUIT";
        bytes.extend_from_slice(b"\r\n");
        s.chunk(crate::hub_harness::RAW_MAX, &bytes);
        if quit {
            live.retain(|x| *x != n);
        }
    }
    s.out
}

/// An example as a `blackbox_server` script (its first steps).
pub fn blackbox_script(lines: &[String]) -> Vec<u8> {
    let mut s = Script::default();
    let mut live: Vec<usize> = Vec::new();
    let mut ops = 0;
    for l in lines {
        let Some((n, content)) = split(l, 'C', &[":"]) else {
            continue;
        };
        if ops + 2 > crate::blackbox::MAX_OPS {
            break;
        }
        if !live.contains(&n) {
            if live.len() >= crate::blackbox::MAX_CONNS {
                continue;
            }
            s.u8(0);
            ops += 1;
            live.push(n);
        }
        let idx = live.iter().position(|x| *x == n).unwrap_or(0);
        s.u8(7).u8(u8::try_from(idx).unwrap_or(0));
        ops += 1;
        let mut bytes = content.into_bytes();
        bytes.extend_from_slice(b"\r\n");
        s.chunk(crate::blackbox::RAW_MAX, &bytes);
    }
    s.out
}

/// The `Sn:` lines of an example for connection `n` as a `client_machine` script:
/// the client is `alice` at 127.0.0.1 and registers first.
pub fn client_script(lines: &[String], conn: usize) -> Vec<u8> {
    let mut s = Script::default();
    // nick: pool 0 ("alice"), as written; no token; 127.0.0.1; port 5001.
    s.u8(0).u8(2).u8(0).u8(0).u8(2).u16(5001);
    // register(None, None)
    s.u8(0).u8(0).u8(0);
    for l in lines {
        let Some((n, content)) = split(l, 'S', &[":"]) else {
            continue;
        };
        if n != conn {
            continue;
        }
        s.u8(8);
        s.chunk(crate::machine_harness::RAW_MAX, content.as_bytes());
        if content.starts_with("MSG:") {
            // shown(the message just reported)
            s.u8(9).u8(0).u8(0);
        }
    }
    s.out
}

/// The `Pn>`/`Pn<` lines of an example as a `peer_session` script.
pub fn peer_script(lines: &[String], role: u8) -> Vec<u8> {
    let mut s = Script::default();
    // own nick "bob" as written; role; inviter "alice"; ticket bytes; first id.
    s.u8(1).u8(2).u8(role).u8(0).u8(2).u8(0).u8(0).u8(1);
    for l in lines {
        let Some((_, content)) = split(l, 'P', &[">", "<"]) else {
            continue;
        };
        s.u8(6);
        s.chunk(crate::machine_harness::RAW_MAX, content.as_bytes());
    }
    s.out
}
