//! Traceability, enforced: every requirement ID of spec/PROTOCOL.md has a case (a client-role
//! ID may instead be listed in pending-client-coverage.txt while its case is not written), every case names IDs that exist, and case IDs are stable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use conformance::cases;
use conformance::profile::Profile;
use conformance::requirements::{self, Role};

fn covered() -> BTreeMap<String, Vec<&'static str>> {
    let mut m: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for c in cases::all() {
        for id in c.covers {
            m.entry((*id).to_owned()).or_default().push(c.id);
        }
    }
    m
}

#[test]
fn protocol_md_has_requirements_with_unique_ids() {
    let all = requirements::all();
    assert!(all.len() >= 80, "only {} requirements extracted", all.len());
    let mut seen = BTreeSet::new();
    for r in all {
        assert!(seen.insert(&r.id), "requirement {} appears twice", r.id);
        assert!(
            r.profile().is_some(),
            "{}: unknown profile {}",
            r.id,
            r.profile_name
        );
        assert!(
            r.sentence.contains(r.level.as_str()) || r.sentence.contains(&r.id),
            "{}: no sentence quoted",
            r.id
        );
    }
}

#[test]
fn every_server_requirement_has_a_case() {
    let covered = covered();
    let missing: Vec<String> = requirements::all()
        .iter()
        .filter(|r| r.role == Role::Server && !covered.contains_key(&r.id))
        .map(|r| r.header())
        .collect();
    assert!(
        missing.is_empty(),
        "server requirements without a case: {missing:#?}"
    );
}

#[test]
fn every_client_requirement_has_a_case_or_is_pending() {
    let covered = covered();
    let pending = cases::pending_client_coverage();
    let missing: Vec<String> = requirements::all()
        .iter()
        .filter(|r| r.role == Role::Client && !covered.contains_key(&r.id))
        .filter(|r| !pending.contains(&r.id))
        .map(|r| r.header())
        .collect();
    assert!(
        missing.is_empty(),
        "client requirements with neither a case nor a line in \
         conformance/pending-client-coverage.txt: {missing:#?}"
    );
}

#[test]
fn pending_list_holds_only_uncovered_client_ids() {
    let covered = covered();
    for id in cases::pending_client_coverage() {
        let r = requirements::find(&id)
            .unwrap_or_else(|| panic!("pending-client-coverage.txt: {id} is not in PROTOCOL.md"));
        assert_eq!(
            r.role,
            Role::Client,
            "pending-client-coverage.txt: {id} is a server requirement; it needs a case"
        );
        assert!(
            !covered.contains_key(&id),
            "pending-client-coverage.txt: {id} has cases ({:?}); remove it from the list",
            covered[&id]
        );
    }
}

#[test]
fn every_case_names_existing_requirements_of_its_role_and_profiles() {
    for c in cases::all() {
        assert!(!c.covers.is_empty(), "{} covers no requirement", c.id);
        assert!(!c.profiles.is_empty(), "{} names no profile", c.id);
        for id in c.covers {
            let r = requirements::find(id)
                .unwrap_or_else(|| panic!("{} names {id}, which is not in PROTOCOL.md", c.id));
            assert_eq!(
                r.role, c.role,
                "{} covers {id}, a requirement of another role",
                c.id
            );
            let p = r.profile().unwrap_or(Profile::Core);
            assert!(
                p == Profile::Core || c.profiles.contains(&p),
                "{} covers {id} (profile {p}) without needing that profile",
                c.id
            );
        }
    }
}

#[test]
fn case_ids_are_stable_and_unique() {
    let mut seen = BTreeSet::new();
    for c in cases::all() {
        assert!(seen.insert(c.id), "case ID {} is used twice", c.id);
        let parts: Vec<&str> = c.id.split('-').collect();
        let role = match c.role {
            Role::Server => "SRV",
            Role::Client => "CLI",
        };
        assert!(
            parts.len() == 3
                && parts[0] == role
                && parts[2].len() == 3
                && parts[2].bytes().all(|b| b.is_ascii_digit()),
            "case ID {} is not {role}-<GROUP>-<NNN> (server cases SRV-, client cases CLI-)",
            c.id
        );
    }
    // case-ids.txt: every ID ever assigned; current ones must be listed, listed ones must
    // exist or be marked retired.
    let text = include_str!("../case-ids.txt");
    let mut listed = BTreeSet::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let id = line.split_whitespace().next().unwrap_or("");
        assert!(listed.insert(id), "case-ids.txt lists {id} twice");
        let retired = line.contains(" retired:");
        let exists = cases::find(id).is_some();
        assert!(
            exists != retired,
            "case-ids.txt: {id} is {}",
            if exists {
                "marked retired but still a case"
            } else {
                "listed but no longer a case: mark it `retired: <reason>` (IDs are never reused)"
            }
        );
    }
    for c in cases::all() {
        assert!(
            listed.contains(c.id),
            "{} is missing from case-ids.txt",
            c.id
        );
    }
}
