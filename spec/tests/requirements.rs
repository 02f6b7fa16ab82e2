//! The requirements of `PROTOCOL.md`: extracted with the expression of §1; no
//! duplicate ID, no malformed `**[` (a bold bracket that is not a well-formed
//! requirement), only the profiles of §4 and the roles of §1; and Appendix C
//! lists exactly the requirements of the text, with the same level, profile and
//! role.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::requirements::{PROFILES, REQUIREMENT_REGEX, ROLES, Requirement, extract};
use common::spec_dir;

fn doc() -> String {
    std::fs::read_to_string(spec_dir().join("PROTOCOL.md")).unwrap()
}

#[test]
fn section_1_still_gives_the_expression_implemented_here() {
    assert!(
        doc().contains(REQUIREMENT_REGEX),
        "§1's expression changed: update tests/common/requirements.rs"
    );
}

#[test]
fn extractor_follows_the_expression() {
    let ok = "x **[REG-3] (MUST; core; server)** y **[AB-10] (SHOULD NOT; udp-direct; client)**";
    let (reqs, bad) = extract(ok);
    assert!(bad.is_empty());
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].level, "SHOULD NOT");
    assert_eq!(reqs[1].profile, "udp-direct");
    for malformed in [
        "**[reg-3] (MUST; core; server)**",
        "**[REG3] (MUST; core; server)**",
        "**[REG-3] (MUST; core; peer)**",
        "**[REG-3] (MAY; core; server)**",
        "**[REG-3] (MUST; core; server)",
        "**[REG-3](MUST; core; server)**",
        "**[REG-3] (MUST;core; server)**",
        "**[REG-] (MUST; core; server)**",
        "**[REG-3] (MUST; Core; server)**",
        "**[see below]**",
    ] {
        let (reqs, bad) = extract(malformed);
        assert!(reqs.is_empty() && bad.len() == 1, "{malformed}");
    }
}

fn requirements() -> Vec<Requirement> {
    let (reqs, bad) = extract(&doc());
    let report: Vec<String> = bad
        .iter()
        .map(|(n, l)| format!("PROTOCOL.md:{n}: malformed requirement: {l}"))
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
    reqs
}

#[test]
fn ids_are_unique_and_well_formed() {
    let reqs = requirements();
    assert!(!reqs.is_empty(), "no requirement found");
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for r in &reqs {
        if let Some(first) = seen.insert(&r.id, r.line) {
            problems.push(format!(
                "PROTOCOL.md:{}: duplicate ID {} (first at line {first})",
                r.line, r.id
            ));
        }
        if !PROFILES.contains(&r.profile.as_str()) {
            problems.push(format!(
                "PROTOCOL.md:{}: {} has unknown profile {:?}",
                r.line, r.id, r.profile
            ));
        }
        if !ROLES.contains(&r.role.as_str()) {
            problems.push(format!(
                "PROTOCOL.md:{}: {} has unknown role {:?}",
                r.line, r.id, r.role
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Rows `| ID | LEVEL | profile | role | ...` of Appendix C, when it is written.
#[test]
fn appendix_c_matches_the_text() {
    let doc = doc();
    let Some(at) = doc.find("## Appendix C") else {
        return;
    };
    let rows: BTreeMap<String, (String, String, String)> = doc[at..]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // "", ID, LEVEL, profile, role, ...
            let id = cells.get(1)?;
            let (letters, digits) = id.split_once('-')?;
            if letters.is_empty()
                || !letters.bytes().all(|b| b.is_ascii_uppercase())
                || digits.is_empty()
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            Some((
                (*id).to_owned(),
                (
                    cells.get(2)?.to_string(),
                    cells.get(3)?.to_string(),
                    cells.get(4)?.to_string(),
                ),
            ))
        })
        .collect();
    if rows.is_empty() {
        return; // not generated yet
    }
    let text: BTreeMap<String, (String, String, String)> = requirements()
        .into_iter()
        .map(|r| (r.id, (r.level, r.profile, r.role)))
        .collect();
    let mut problems = Vec::new();
    for (id, v) in &text {
        match rows.get(id) {
            None => problems.push(format!("{id} is missing from Appendix C")),
            Some(row) if row != v => {
                problems.push(format!("{id}: Appendix C says {row:?}, the text {v:?}"))
            }
            Some(_) => {}
        }
    }
    let extra: BTreeSet<_> = rows.keys().filter(|id| !text.contains_key(*id)).collect();
    for id in extra {
        problems.push(format!(
            "Appendix C lists {id}, which the text does not define"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
