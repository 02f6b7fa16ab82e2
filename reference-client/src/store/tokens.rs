//! Ownership tokens, kept per server and nick ([CLI-6]): `tokens.json`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use spec::{Nick, Token};

/// The token file.
#[derive(Debug)]
pub struct Tokens {
    path: PathBuf,
    map: BTreeMap<String, String>,
}

fn key(server: &str, nick: &Nick) -> String {
    // Ownership is keyed on the nick without case (§8).
    format!("{server} {}", nick.key())
}

impl Tokens {
    /// Loads `<dir>/tokens.json` (empty when absent).
    pub fn load(dir: &Path) -> io::Result<Tokens> {
        let path = dir.join("tokens.json");
        let map = super::read_json(&path)?;
        Ok(Tokens { path, map })
    }

    /// The token kept for `nick` on `server`.
    pub fn get(&self, server: &str, nick: &Nick) -> Option<Token> {
        self.map
            .get(&key(server, nick))
            .and_then(|t| Token::new(t).ok())
    }

    /// Keeps `token` for `nick` on `server`, on disk at once.
    pub fn set(&mut self, server: &str, nick: &Nick, token: &Token) -> io::Result<()> {
        self.map.insert(key(server, nick), token.to_string());
        super::write_json(&self.path, &self.map)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_survive_a_restart_per_server_and_nick() {
        let dir = tempfile::tempdir().unwrap();
        let t = Token::new("4f1c2b0e9a7d3c5b8e6f1a2d4c7b9e03").unwrap();
        let alice = Nick::new("Alice").unwrap();
        let mut tokens = Tokens::load(dir.path()).unwrap();
        tokens.set("127.0.0.1:1337", &alice, &t).unwrap();
        let tokens = Tokens::load(dir.path()).unwrap();
        assert_eq!(
            tokens.get("127.0.0.1:1337", &Nick::new("alice").unwrap()),
            Some(t)
        );
        assert_eq!(tokens.get("127.0.0.1:1338", &alice), None);
        assert_eq!(
            tokens.get("127.0.0.1:1337", &Nick::new("bob").unwrap()),
            None
        );
    }
}
