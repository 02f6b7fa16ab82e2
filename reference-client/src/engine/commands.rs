//! Commands: what each one does, and when it is done ([AUT-2]).

use spec::machine::client::Request;
use spec::{Nick, Text};

use super::{CmdSeq, Engine, OnFail};
use crate::commands::{Command, HELP};
use crate::config::Exit;
use crate::events::Event;

impl Engine {
    /// Runs one command (or reports the hint of one that did not parse,
    /// [AUT-3]).
    pub fn on_command(&mut self, cmd: Result<Command, String>) {
        let seq = self.begin_cmd();
        match cmd {
            Err(hint) => {
                self.emit(Event::error("USAGE", hint));
                self.done(Some(seq));
            }
            Ok(c) => self.run(c, seq),
        }
        self.pump();
    }

    fn needs_server(&mut self, seq: CmdSeq, what: &str) -> bool {
        if self.is_hybrid() {
            return true;
        }
        self.emit(Event::error("USAGE", format!("{what} needs a server")));
        self.done(Some(seq));
        false
    }

    fn server_request(&mut self, req: Request, seq: CmdSeq) {
        if self.request(req, Some(seq)).is_none() {
            self.emit(Event::error("UNREACHABLE", "not connected to a server"));
            self.done(Some(seq));
        }
    }

    fn is_self(&self, nick: &Nick) -> bool {
        nick.eq_ignore_case(&self.own)
    }

    fn run(&mut self, c: Command, seq: CmdSeq) {
        let cmd = Some(seq);
        match c {
            Command::Broadcast(text) => {
                if self.is_hybrid() {
                    self.server_request(Request::Broadcast(text), seq);
                } else {
                    self.mesh_broadcast(text);
                    self.done(cmd);
                }
            }
            Command::Msg(to, text) => {
                if self.needs_server(seq, "msg") {
                    self.send_via_mailbox(to, text, cmd);
                }
            }
            Command::Chat(to, text) => self.private(to, text, seq, OnFail::Report),
            Command::Send(to, text) => {
                let online = self.users.contains_key(&to.key()) || self.session_with(&to).is_some();
                if self.is_hybrid() && (!online || self.is_self(&to)) {
                    // Offline: straight to the mailbox; the user sees "queued".
                    self.send_via_mailbox(to, text, cmd);
                } else {
                    self.private(to, text, seq, OnFail::Mailbox);
                }
            }
            Command::Dm(to, text) => {
                if self.needs_server(seq, "dm") {
                    self.send_dm(to, text);
                    self.done(cmd);
                }
            }
            Command::Start(to) => {
                if self.is_self(&to) {
                    self.usage(seq, "you cannot chat with yourself");
                } else if !self.needs_server(seq, "start (serverless: connect)") {
                } else if self.session_with(&to).is_some() {
                    self.notice(format!("a session with {to} is open already"));
                    self.done(cmd);
                } else {
                    self.open_direct(to, None, cmd);
                }
            }
            Command::List => {
                if self.needs_server(seq, "list (serverless: peers)") {
                    self.server_request(Request::List, seq);
                }
            }
            Command::Query(nick) => {
                if self.needs_server(seq, "query") {
                    self.server_request(Request::Query(nick), seq);
                }
            }
            Command::Block(nick) => {
                if !self.is_self(&nick) {
                    if let Err(e) = self.blocks.add(&nick) {
                        self.notice(format!("could not keep the block: {e}"));
                    }
                    self.drop_sessions_with(&nick);
                }
                if self.is_hybrid() {
                    self.server_request(Request::Block(nick), seq);
                } else {
                    self.emit(Event::Blocked {
                        nick: nick.to_string(),
                    });
                    self.done(cmd);
                }
            }
            Command::Unblock(nick) => {
                if let Err(e) = self.blocks.remove(&nick) {
                    self.notice(format!("could not drop the block: {e}"));
                }
                if self.is_hybrid() {
                    self.server_request(Request::Unblock(nick), seq);
                } else {
                    self.emit(Event::Unblocked {
                        nick: nick.to_string(),
                    });
                    self.done(cmd);
                }
            }
            Command::Blocks => {
                if self.is_hybrid() {
                    self.server_request(Request::Blocks, seq);
                } else {
                    let nicks = self.blocks.nicks();
                    self.emit(Event::Blocks { nicks });
                    self.done(cmd);
                }
            }
            Command::Close(nick) => {
                if self
                    .close_sessions(|s| s.session.peer().is_some_and(|p| p.eq_ignore_case(&nick)))
                    == 0
                {
                    self.usage(seq, &format!("no session with {nick}"));
                } else {
                    self.done(cmd);
                }
            }
            Command::Connect(addr) => {
                if self.is_hybrid() {
                    self.usage(seq, "connect is for serverless mode; use chat or start");
                } else {
                    self.dial_serverless(addr, cmd);
                }
            }
            Command::Disconnect(addr) => {
                let n =
                    self.close_sessions(|s| s.addr == addr || s.link.remote.to_string() == addr);
                if n == 0 {
                    self.usage(seq, &format!("no session with {addr}"));
                } else {
                    self.done(cmd);
                }
            }
            Command::Peers => {
                let peers = self.peer_list();
                self.emit(Event::Peers { peers });
                self.done(cmd);
            }
            Command::Sync(token) => {
                // Done at once itself; answered once every earlier one is.
                self.syncs.push_back((seq, token));
                self.done(cmd);
            }
            Command::Quit => {
                self.close_sessions(|_| true);
                if self.is_hybrid() {
                    self.quit_server();
                } else if self.exit.is_none() {
                    self.exit = Some(Exit::Ok);
                }
                self.done(cmd);
            }
            Command::Register => {
                let text = if self.registered {
                    format!("registered as {}", self.own)
                } else {
                    "registration is under way".to_owned()
                };
                self.notice(text);
                self.done(cmd);
            }
            Command::Help => {
                for (usage, what) in HELP {
                    self.notice(format!("{usage:<24} {what}"));
                }
                self.done(cmd);
            }
        }
    }

    fn usage(&mut self, seq: CmdSeq, text: &str) {
        self.emit(Event::error("USAGE", text));
        self.done(Some(seq));
    }

    fn private(&mut self, to: Nick, text: Text, seq: CmdSeq, on_fail: OnFail) {
        if self.is_self(&to) {
            self.usage(seq, "you cannot chat with yourself");
            return;
        }
        let on_fail = if self.is_hybrid() {
            on_fail
        } else {
            OnFail::Outbox
        };
        self.send_private(to, text, Some(seq), on_fail);
    }

    /// The end of input: like `quit`.
    pub fn on_end_of_input(&mut self) {
        if self.exit.is_none() && self.quit_deadline.is_none() {
            self.on_command(Ok(Command::Quit));
        }
    }
}
