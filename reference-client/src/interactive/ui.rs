//! The two faces of the interactive front end: a terminal (rustyline, with an
//! [`ExternalPrinter`] for output above the input line), or plain standard
//! input and output.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::thread::JoinHandle;

use rustyline::config::Configurer;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor, ExternalPrinter};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::complete::{ChatHelper, KnownNicks};
use crate::commands::{self, Command};

/// What the user typed.
#[derive(Debug)]
pub enum Input {
    /// A line.
    Line(String),
    /// End of input (Ctrl-D, Ctrl-C, or standard input closed).
    End,
}

type LineEditor = Editor<ChatHelper, FileHistory>;

/// The terminal, or plain standard input and output.
pub struct Ui {
    /// The line editor, until the input thread takes it.
    editor: Option<LineEditor>,
    /// Prints above the input line (terminal only).
    printer: Option<Box<dyn ExternalPrinter + Send>>,
    stdin_tty: bool,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("terminal", &self.printer.is_some())
            .finish()
    }
}

impl Ui {
    /// The terminal when both standard input and output are terminals that
    /// rustyline can drive; plain otherwise.
    pub fn new(stdin_tty: bool, stdout_tty: bool, nicks: KnownNicks) -> Ui {
        let plain = Ui {
            editor: None,
            printer: None,
            stdin_tty,
        };
        if !(stdin_tty && stdout_tty) {
            return plain;
        }
        match terminal(nicks) {
            Ok((editor, printer)) => Ui {
                editor: Some(editor),
                printer: Some(printer),
                stdin_tty,
            },
            Err(e) => {
                tracing::info!("no line editor ({e}); plain input");
                plain
            }
        }
    }

    /// Whether output goes through the line editor.
    pub fn is_terminal(&self) -> bool {
        self.printer.is_some()
    }

    /// Whether the user can be asked questions.
    pub fn can_ask(&self) -> bool {
        self.stdin_tty
    }

    /// Shows one piece of text (one or more lines) and flushes it.
    pub fn show(&mut self, text: &str) -> io::Result<()> {
        let mut text = text.to_owned();
        text.push('\n');
        match self.printer.as_mut() {
            // While a line is being edited the editor's thread writes it above
            // the input line and redraws the line; otherwise it goes to the
            // terminal at once.
            Some(p) => p.print(text).map_err(io::Error::other),
            None => {
                let mut out = io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()
            }
        }
    }

    /// Asks a question; `None` at the end of input (or Ctrl-C).
    pub fn ask(&mut self, question: &str) -> Option<String> {
        if let Some(ed) = self.editor.as_mut() {
            return ed.readline(question).ok();
        }
        let mut err = io::stderr().lock();
        let _ = err.write_all(question.as_bytes());
        let _ = err.flush();
        let mut answer = String::new();
        match io::stdin().lock().read_line(&mut answer) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(answer.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    /// Starts reading lines on a thread of their own. In a terminal, the
    /// thread owns the line editor, keeps the history in `history`, and is
    /// returned so that it can be joined (it gives the terminal back when it
    /// ends: after a line that quits, Ctrl-D or Ctrl-C).
    pub fn start_input(
        &mut self,
        prompt: String,
        history: PathBuf,
    ) -> (UnboundedReceiver<Input>, Option<JoinHandle<()>>) {
        let (tx, rx) = unbounded_channel();
        match self.editor.take() {
            Some(mut ed) => {
                if let Err(e) = ed.load_history(&history) {
                    tracing::debug!("history {}: {e}", history.display());
                }
                let h = std::thread::spawn(move || edit_lines(ed, &prompt, &history, &tx));
                (rx, Some(h))
            }
            None => {
                // Plain input: nobody waits for this thread (it may be blocked
                // in a read when the run ends).
                std::thread::spawn(move || read_lines(&tx));
                (rx, None)
            }
        }
    }
}

fn terminal(nicks: KnownNicks) -> rustyline::Result<(LineEditor, Box<dyn ExternalPrinter + Send>)> {
    let config = Config::builder()
        .max_history_size(1000)?
        .history_ignore_dups(true)?
        .history_ignore_space(true)
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .build();
    let mut ed: LineEditor = Editor::with_config(config)?;
    ed.set_helper(Some(ChatHelper::new(nicks)));
    ed.set_auto_add_history(false);
    let printer = ed.create_external_printer()?;
    Ok((ed, Box::new(printer)))
}

fn edit_lines(mut ed: LineEditor, prompt: &str, history: &PathBuf, tx: &UnboundedSender<Input>) {
    loop {
        match ed.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = ed.add_history_entry(line.as_str());
                }
                let quits = matches!(commands::parse_line(&line), Some(Ok(Command::Quit)));
                if tx.send(Input::Line(line)).is_err() || quits {
                    break;
                }
            }
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => {
                let _ = tx.send(Input::End);
                break;
            }
            Err(e) => {
                tracing::warn!("terminal: {e}");
                let _ = tx.send(Input::End);
                break;
            }
        }
    }
    if let Err(e) = ed.save_history(history) {
        tracing::warn!("saving the history in {}: {e}", history.display());
    }
}

fn read_lines(tx: &UnboundedSender<Input>) {
    for line in io::stdin().lock().lines() {
        match line {
            Ok(l) => {
                if tx.send(Input::Line(l)).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("standard input: {e}");
                break;
            }
        }
    }
    let _ = tx.send(Input::End);
}
