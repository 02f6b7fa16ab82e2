//! Writes the seed corpora of `seeds/<target>/` from `spec/vectors` and `spec/examples`:
//! `cargo run --example make_seeds` (from `fuzz/`). Deterministic: run it again after
//! the vectors or examples change, and commit the result.

use std::path::{Path, PathBuf};

use p2pchat_fuzz::seeds;

fn write(dir: &Path, target: &str, name: &str, data: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let p = d.join(format!("seed-{safe}"));
    std::fs::write(&p, data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = root.join("../spec");
    let out = root.join("seeds");
    for (id, line) in seeds::vector_lines(&spec) {
        write(&out, "decode_lines", &id, &line);
    }
    for (id, input) in seeds::framer_inputs(&spec) {
        write(&out, "framer_chunks", &id, &input);
    }
    for (stem, lines) in seeds::examples(&spec) {
        write(&out, "hub_sequences", &stem, &seeds::hub_script(&lines));
        write(
            &out,
            "blackbox_server",
            &stem,
            &seeds::blackbox_script(&lines),
        );
        let framed: Vec<u8> = lines
            .iter()
            .filter_map(|l| l.split_once(": ").map(|(_, c)| format!("{c}\r\n")))
            .flat_map(String::into_bytes)
            .collect();
        let mut f = vec![7u8, 0u8];
        f.extend_from_slice(&framed);
        write(&out, "framer_chunks", &format!("example-{stem}"), &f);
        for conn in 1..=2 {
            let s = seeds::client_script(&lines, conn);
            if s.len() > 10 {
                write(&out, "client_machine", &format!("{stem}-S{conn}"), &s);
            }
        }
        if lines.iter().any(|l| l.starts_with('P')) {
            for role in 0..4u8 {
                write(
                    &out,
                    "peer_session",
                    &format!("{stem}-role{role}"),
                    &seeds::peer_script(&lines, role),
                );
            }
        }
    }
    println!("seeds written to {}", out.display());
}
