//! Tab completion: command words (`/...` and seed 000's words) at the start of
//! the line, and nicks known (the peer list and open sessions) elsewhere.

use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::commands::{SEED_WORDS, WORDS, takes_nick};

/// The nicks to complete, kept up to date by the front end.
pub type KnownNicks = Arc<Mutex<Vec<String>>>;

/// The completions of the word that ends at byte `pos` of `line`: where the
/// word starts, and the candidates.
pub fn complete(line: &str, pos: usize, nicks: &[String]) -> (usize, Vec<Pair>) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before.rfind(' ').map_or(0, |i| i + 1);
    let word = &before[start..];
    let lower = word.to_ascii_lowercase();
    let pair = |display: &str, replacement: String| Pair {
        display: display.to_owned(),
        replacement,
    };
    let matching_nicks = |suffix: &str| -> Vec<Pair> {
        nicks
            .iter()
            .filter(|n| n.to_ascii_lowercase().starts_with(&lower))
            .map(|n| pair(n, format!("{n}{suffix}")))
            .collect()
    };
    let leading = before[..start].trim();
    if leading.is_empty() {
        // The first word: a command.
        if word.is_empty() || word.starts_with('/') {
            let words = WORDS
                .iter()
                .filter(|w| w.starts_with(&lower))
                .map(|w| pair(w, format!("{w} ")))
                .collect();
            return (start, words);
        }
        // Seed 000's words, in the case the user types them; or a nick.
        let upper = word.chars().all(|c| !c.is_ascii_lowercase());
        let mut out: Vec<Pair> = SEED_WORDS
            .iter()
            .filter(|w| w.to_ascii_lowercase().starts_with(&lower))
            .map(|w| {
                let w = if upper {
                    (*w).to_owned()
                } else {
                    w.to_ascii_lowercase()
                };
                pair(&w, format!("{w} "))
            })
            .collect();
        out.extend(matching_nicks(""));
        return (start, out);
    }
    let mut words = leading.split(' ').filter(|w| !w.is_empty());
    let first = words.next().unwrap_or_default();
    let second_word = words.next().is_none();
    let is_command =
        first.starts_with('/') || SEED_WORDS.iter().any(|w| w.eq_ignore_ascii_case(first));
    if is_command && second_word && takes_nick(first) {
        return (start, matching_nicks(" "));
    }
    (start, matching_nicks(""))
}

/// The rustyline helper: completion only.
#[derive(Debug, Clone)]
pub struct ChatHelper {
    nicks: KnownNicks,
}

impl ChatHelper {
    /// A helper completing from `nicks`.
    pub fn new(nicks: KnownNicks) -> ChatHelper {
        ChatHelper { nicks }
    }
}

impl Completer for ChatHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let nicks = self
            .nicks
            .lock()
            .map(|n| n.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        Ok(complete(line, pos, &nicks))
    }
}

impl Hinter for ChatHelper {
    type Hint = String;
}

impl Highlighter for ChatHelper {}

impl Validator for ChatHelper {}

impl Helper for ChatHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str, nicks: &[&str]) -> (usize, Vec<String>) {
        let nicks: Vec<String> = nicks.iter().map(|s| (*s).to_owned()).collect();
        let (start, pairs) = complete(line, line.len(), &nicks);
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn commands_at_the_start() {
        assert_eq!(names("/bro", &[]), (0, vec!["/broadcast ".to_owned()]));
        assert_eq!(
            names("/BL", &[]),
            (0, vec!["/block ".to_owned(), "/blocks ".to_owned()])
        );
        assert_eq!(names("SE", &[]), (0, vec!["SEND ".to_owned()]));
        assert_eq!(names("unb", &[]), (0, vec!["unblock ".to_owned()]));
        assert!(names("", &[]).1.contains(&"/help ".to_owned()));
    }

    #[test]
    fn nicks_after_commands_and_in_text() {
        let nicks = ["alice", "bob", "Bobby"];
        assert_eq!(
            names("/chat bo", &nicks),
            (6, vec!["bob ".to_owned(), "Bobby ".to_owned()])
        );
        assert_eq!(names("SEND al", &nicks), (5, vec!["alice ".to_owned()]));
        assert_eq!(names("hi al", &nicks), (3, vec!["alice".to_owned()]));
        assert_eq!(
            names("/chat bob hi al", &nicks),
            (13, vec!["alice".to_owned()])
        );
        assert_eq!(names("/list x", &nicks), (6, vec![]));
        assert_eq!(names("al", &nicks), (0, vec!["alice".to_owned()]));
    }
}
