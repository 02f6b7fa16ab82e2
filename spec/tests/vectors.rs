//! Every vector of `spec/vectors` (see its README): decoded in its context and
//! checked against `decoded` / `error`, re-encoded byte for byte, snapshotted
//! with insta; the framer vectors replayed with several cuts; and the coverage
//! the README promises (every verb, every code).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{CONTEXTS, decode_in, load, octets, reencode_in, spec_dir, unhex, verb_of, verbs};
use serde_json::{Value, json};
use spec::{Frame, Framer};

fn vectors(kind: &str, context: &str) -> Vec<Value> {
    load(&spec_dir().join(format!("vectors/{kind}/{context}.json")))
}

#[test]
fn valid_vectors_decode_to_their_value_and_reencode_exactly() {
    for context in CONTEXTS {
        let mut snapshot = Vec::new();
        for v in vectors("valid", context) {
            let id = v["id"].as_str().unwrap();
            assert_eq!(v["context"], context, "{id}");
            let line = octets(&v, "line");
            let decoded = decode_in(context, &line)
                .unwrap_or_else(|e| panic!("{id}: expected to decode, got {e}"));
            assert_eq!(decoded, v["decoded"], "{id}");
            assert_eq!(
                decoded["verb"],
                verb_of(&line),
                "{id}: the verb member is the wire verb"
            );
            let canonical = match line.as_slice() {
                [c @ .., b'\r', b'\n'] | [c @ .., b'\n'] if context == "datagram" => c,
                c => c,
            };
            let again = reencode_in(context, &line).unwrap();
            assert_eq!(again.as_bytes(), canonical, "{id}: re-encoding differs");
            snapshot.push(json!({"id": id, "decoded": decoded}));
        }
        insta::assert_yaml_snapshot!(format!("valid_{context}"), snapshot);
    }
}

#[test]
fn invalid_vectors_fail_with_their_code() {
    for context in CONTEXTS {
        let mut snapshot = Vec::new();
        for v in vectors("invalid", context) {
            let id = v["id"].as_str().unwrap();
            assert_eq!(v["context"], context, "{id}");
            let line = octets(&v, "line");
            let err = match decode_in(context, &line) {
                Ok(d) => panic!("{id}: expected {}, decoded {d}", v["error"]),
                Err(e) => e,
            };
            assert_eq!(err.code.as_str(), v["error"], "{id}: {}", err.reason);
            snapshot.push(json!({"id": id, "error": err.code.as_str(), "reason": err.reason}));
        }
        insta::assert_yaml_snapshot!(format!("invalid_{context}"), snapshot);
    }
}

#[test]
fn vector_ids_are_unique() {
    let mut seen = BTreeSet::new();
    for kind in ["valid", "invalid"] {
        for context in CONTEXTS {
            for v in vectors(kind, context) {
                let id = v["id"].as_str().unwrap().to_owned();
                assert!(seen.insert(id.clone()), "duplicate id {id}");
            }
        }
    }
    for v in load(&spec_dir().join("vectors/framer.json")) {
        let id = v["id"].as_str().unwrap().to_owned();
        assert!(seen.insert(id.clone()), "duplicate id {id}");
    }
}

#[test]
fn every_verb_has_valid_and_invalid_vectors() {
    for context in CONTEXTS {
        for kind in ["valid", "invalid"] {
            let seen: BTreeSet<String> = vectors(kind, context)
                .iter()
                .filter(|v| v.get("error").is_none_or(|e| e != "UNKNOWN_VERB"))
                .map(|v| verb_of(&octets(v, "line")))
                .collect();
            for verb in verbs(context) {
                assert!(
                    seen.contains(*verb),
                    "no {kind} {context} vector for {verb}"
                );
            }
        }
    }
}

#[test]
fn every_decoding_code_appears() {
    let mut codes = BTreeSet::new();
    for context in CONTEXTS {
        for v in vectors("invalid", context) {
            codes.insert(v["error"].as_str().unwrap().to_owned());
        }
    }
    for v in load(&spec_dir().join("vectors/framer.json")) {
        for f in v["frames"].as_array().unwrap() {
            if let Some(e) = f.get("error") {
                codes.insert(e.as_str().unwrap().to_owned());
            }
        }
    }
    let want = [
        "LINE_TOO_LONG",
        "BAD_UTF8",
        "MALFORMED",
        "UNKNOWN_VERB",
        "BAD_NICK",
        "BAD_ADDRESS",
        "BAD_LENGTH",
        "TEXT_TOO_LONG",
    ];
    assert_eq!(codes, want.iter().map(|s| s.to_string()).collect());
}

fn frame_json(f: Frame<'_>) -> Value {
    match f {
        Frame::TooLong => json!({"error": "LINE_TOO_LONG"}),
        Frame::Line(l) => match std::str::from_utf8(l) {
            Ok(s) => json!({ "line": s }),
            Err(_) => {
                json!({ "line_hex": l.iter().map(|b| format!("{b:02x}")).collect::<String>() })
            }
        },
    }
}

fn run_push(chunks: &[Vec<u8>]) -> (Vec<Value>, bool) {
    let mut f = Framer::new();
    let mut out = Vec::new();
    for c in chunks {
        f.push(c);
        while let Some(fr) = f.next_frame() {
            out.push(frame_json(fr));
        }
    }
    (out, f.in_partial_line())
}

fn run_feed(chunks: &[Vec<u8>]) -> (Vec<Value>, bool) {
    let mut f = Framer::new();
    let mut out = Vec::new();
    for c in chunks {
        f.feed(c, |fr| out.push(frame_json(fr)));
    }
    (out, f.in_partial_line())
}

#[test]
fn framer_vectors() {
    let mut snapshot = Vec::new();
    for v in load(&spec_dir().join("vectors/framer.json")) {
        let id = v["id"].as_str().unwrap();
        let chunks: Vec<Vec<u8>> = v["chunks_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| unhex(h.as_str().unwrap()))
            .collect();
        let want = (
            v["frames"].as_array().unwrap().clone(),
            v["partial"].as_bool().unwrap(),
        );
        let whole = vec![chunks.concat()];
        let octets: Vec<Vec<u8>> = chunks.concat().iter().map(|b| vec![*b]).collect();
        for (how, got) in [
            ("as cut", run_push(&chunks)),
            ("one push", run_push(&whole)),
            ("octet by octet", run_push(&octets)),
            ("feed as cut", run_feed(&chunks)),
            ("feed octet by octet", run_feed(&octets)),
        ] {
            assert_eq!(got, want, "{id} ({how})");
        }
        snapshot.push(json!({"id": id, "frames": want.0.len(), "partial": want.1}));
    }
    insta::assert_yaml_snapshot!("framer", snapshot);
}
