#!/usr/bin/env python3
"""A p2pchat/1 client in automation mode (PROTOCOL.md Appendix A), profiles core, query,
relay and block, written from PROTOCOL.md with the standard library only. It shares no code
with the rest of this project: the conformance suite judges it as it would a student's
client (tests/python_clients.rs), and the broken clients of examples/broken_clients/ each
subclass it to break one rule.

    python3 core_client.py --server {server} --nick {nick} --udp-port {port} --data-dir {datadir}

Commands on stdin, one JSON event per line on stdout, logs on stderr. Exit status: 0 after
`quit` or the end of stdin, 1 when the server cannot be reached or the connection is lost,
2 for a bad command line, 3 when the registration is refused.
"""

import argparse
import collections
import json
import os
import re
import selectors
import socket
import sys

MAX_LINE = 2048
MAX_TEXT = 1024
NICK = re.compile(r"[A-Za-z0-9_-]{1,32}\Z")
HEX32 = re.compile(r"[0-9a-f]{32}\Z")
MSG_ID = re.compile(r"[1-9][0-9]{0,15}\Z")
TIME = re.compile(r"(0|[1-9][0-9]{0,10})\Z")
LEN = re.compile(r"[1-9][0-9]{0,3}\Z")
CODE = re.compile(r"[A-Z0-9_]{1,32}\Z")
IPV4 = re.compile(r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\Z")
PORT = re.compile(r"[1-9][0-9]{0,4}\Z")


def log(*a):
    print("core_client:", *a, file=sys.stderr, flush=True)


def text_field(s):
    """`<len>:<text>` -> text, or None when it breaks the rules of section 2.1."""
    if ":" not in s:
        return None
    n, text = s.split(":", 1)
    if not LEN.match(n) or int(n) > MAX_TEXT or int(n) != len(text.encode("utf-8")):
        return None
    if any(c in text for c in "\r\n\0"):
        return None
    return text


def split_address(s):
    """`<ip>:<port>` at the start of s -> (ip without brackets, port, rest) or None."""
    if s.startswith("["):
        close = s.find("]")
        if close < 0:
            return None
        ip = s[1:close]
        try:
            socket.inet_pton(socket.AF_INET6, ip)
        except OSError:
            return None
        after = s[close + 1:]
    else:
        if ":" not in s:
            return None
        ip, after = s.split(":", 1)
        after = ":" + after
        if not IPV4.match(ip):
            return None
    if not after.startswith(":"):
        return None
    after = after[1:]
    port, _, rest = after.partition(":")
    if not PORT.match(port) or int(port) > 65535:
        return None
    return ip, int(port), (":" + rest if rest or after.endswith(":") else "")


def entries(s):
    """`:<nick>:<addr>...` -> list of (nick, ip, port), or None."""
    out = []
    while s:
        if not s.startswith(":"):
            return None
        nick, _, rest = s[1:].partition(":")
        if not NICK.match(nick):
            return None
        a = split_address(rest)
        if a is None:
            return None
        out.append((nick, a[0], a[1]))
        s = a[2]
    return out


class Client:
    def __init__(self, args):
        self.args = args
        self.nick = args.nick
        self.server = args.server
        self.port = args.udp_port
        self.datadir = args.data_dir
        os.makedirs(self.datadir, exist_ok=True)
        self.sock = None
        self.rbuf = b""
        self.discarding = False
        self.ibuf = b""
        self.registered = False
        self.quitting = False
        # Requests sent and not answered: [kind, detail, syncs to emit after it].
        self.pending = collections.deque()
        self.list_parts = []
        self.blocks_parts = []
        self.seen = self.load_seen()
        self.exit_code = None

    # ---- storage -----------------------------------------------------------
    def key(self):
        return re.sub(r"[^A-Za-z0-9._-]", "_", "%s-%s" % (self.server, self.nick.lower()))

    def load_token(self):
        try:
            with open(os.path.join(self.datadir, "tokens.json")) as f:
                return json.load(f).get(self.key())
        except (OSError, ValueError):
            return None

    def save_token(self, token):
        path = os.path.join(self.datadir, "tokens.json")
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {}
        data[self.key()] = token
        with open(path + ".tmp", "w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)

    def load_seen(self):
        try:
            with open(os.path.join(self.datadir, "seen-" + self.key())) as f:
                return set(int(x) for x in f.read().split())
        except OSError:
            return set()

    def record_seen(self, msg_id):
        self.seen.add(msg_id)
        with open(os.path.join(self.datadir, "seen-" + self.key()), "a") as f:
            f.write("%d\n" % msg_id)
            f.flush()
            os.fsync(f.fileno())

    # ---- output ------------------------------------------------------------
    def emit(self, **ev):
        sys.stdout.write(json.dumps(ev, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def send(self, line):
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def request(self, line, kind, detail=None):
        self.pending.append([kind, detail, []])
        self.send(line)

    def reply_done(self):
        if self.pending:
            _, _, syncs = self.pending.popleft()
            for tok in syncs:
                self.emit(event="sync", token=tok)

    def broadcast_line(self, text):
        return "BROADCAST:%s:%d:%s" % (self.nick, len(text.encode("utf-8")), text)

    # ---- commands ------------------------------------------------------------
    def on_command(self, line):
        word, _, rest = line.partition(" ")
        ok_text = rest and not any(c in rest for c in "\r\n\0") and len(rest.encode()) <= MAX_TEXT
        if word == "sync" and rest and " " not in rest:
            if self.pending:
                self.pending[-1][2].append(rest)
            else:
                self.emit(event="sync", token=rest)
        elif word == "broadcast" and ok_text:
            self.request(self.broadcast_line(rest), "broadcast")
        elif word == "msg" and " " in rest:
            to, text = rest.split(" ", 1)
            if NICK.match(to) and text:
                self.request("SEND:%s:%d:%s" % (to, len(text.encode("utf-8")), text), "send", to)
            else:
                self.usage(line)
        elif word == "list" and not rest:
            self.request("LIST", "list")
        elif word == "query" and NICK.match(rest):
            self.request("QUERY:" + rest, "query")
        elif word in ("block", "unblock") and NICK.match(rest):
            self.request("%s:%s" % (word.upper(), rest), word)
        elif word == "blocks" and not rest:
            self.request("BLOCKS", "blocks")
        elif word == "quit" and not rest:
            self.quit()
        else:
            self.usage(line)

    def usage(self, line):
        self.emit(event="error", code="USAGE", text="not understood: %s" % line[:80])

    def quit(self):
        if not self.quitting:
            self.quitting = True
            self.request("QUIT", "quit")

    # ---- server lines ------------------------------------------------------
    def on_line(self, raw):
        if len(raw) > MAX_LINE:
            return
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            return
        if "\0" in line or "\r" in line or not line:
            return
        verb, _, rest = line.partition(":")
        handler = getattr(self, "on_" + verb, None) if verb.isupper() else None
        if handler is not None:
            handler(rest, line)

    def on_PING(self, rest, line):
        if NICK.match(rest):
            self.send("PONG:" + rest)

    def on_PONG(self, rest, line):
        pass

    def on_UPDATE(self, rest, line):
        kind, _, rest = rest.partition(":")
        nick, _, rest = rest.partition(":")
        a = split_address(rest)
        if kind in ("JOIN", "LEAVE") and NICK.match(nick) and a and a[2] == "":
            self.emit(event=kind.lower(), nick=nick, ip=a[0], port=a[1])

    def on_TOKEN(self, rest, line):
        nick, _, token = rest.partition(":")
        if nick.lower() == self.nick.lower() and HEX32.match(token):
            self.save_token(token)

    def on_LISTPART(self, rest, line):
        e = entries(":" + rest)
        if e:
            self.list_parts.extend(e)

    def on_LIST(self, rest, line):
        e = entries(line[len("LIST"):])
        if e is None:
            return
        users = self.list_parts + e
        self.list_parts = []
        if not self.registered:
            self.registered = True
            self.emit(event="ready", nick=self.nick, port=self.port)
            self.emit(event="users", users=[{"nick": n, "ip": i, "port": p} for n, i, p in users])
        else:
            self.emit(event="users", users=[{"nick": n, "ip": i, "port": p} for n, i, p in users])
            self.reply_done()

    def on_USER(self, rest, line):
        e = entries(":" + rest)
        if e and len(e) == 1:
            n, i, p = e[0]
            self.emit(event="user", nick=n, ip=i, port=p)
            self.reply_done()

    def on_BROADCAST(self, rest, line):
        nick, _, tf = rest.partition(":")
        text = text_field(tf)
        if not NICK.match(nick) or text is None:
            return
        self.emit(event="broadcast", **{"from": nick}, text=text)
        if nick == self.nick and self.pending and self.pending[0][0] == "broadcast":
            self.reply_done()

    def on_MSG(self, rest, line):
        parts = rest.split(":", 3)
        if len(parts) != 4:
            return
        msg_id, sender, t, tf = parts
        text = text_field(tf)
        if not (MSG_ID.match(msg_id) and NICK.match(sender) and TIME.match(t)) or text is None:
            return
        msg_id = int(msg_id)
        if msg_id > 9007199254740991:
            return
        self.deliver(msg_id, sender, text)

    def deliver(self, msg_id, sender, text):
        """Show, then record, then acknowledge ([CLI-5], Appendix A.2)."""
        if msg_id not in self.seen:
            self.emit(event="message", **{"from": sender}, text=text, via="relay", id=msg_id)
            self.record_seen(msg_id)
        self.send("ACK:%d" % msg_id)

    def on_SENT(self, rest, line):
        msg_id, _, how = rest.partition(":")
        if MSG_ID.match(msg_id) and how in ("LIVE", "QUEUED"):
            to = self.pending[0][1] if self.pending else None
            self.emit(event="sent", to=to, via=how.lower(), id=int(msg_id))
            self.reply_done()

    def on_BLOCKED(self, rest, line):
        if NICK.match(rest):
            self.emit(event="blocked", nick=rest)
            self.reply_done()

    def on_UNBLOCKED(self, rest, line):
        if NICK.match(rest):
            self.emit(event="unblocked", nick=rest)
            self.reply_done()

    def on_BLOCKSPART(self, rest, line):
        nicks = rest.split(":")
        if all(NICK.match(n) for n in nicks):
            self.blocks_parts.extend(nicks)

    def on_BLOCKS(self, rest, line):
        nicks = rest.split(":") if line != "BLOCKS" else []
        if line != "BLOCKS" and not line.startswith("BLOCKS:"):
            return
        if not all(NICK.match(n) for n in nicks):
            return
        nicks = self.blocks_parts + nicks
        self.blocks_parts = []
        self.emit(event="blocks", nicks=nicks)
        self.reply_done()

    def on_BYE(self, rest, line):
        self.reply_done()

    def on_ERR(self, rest, line):
        code, _, tf = rest.partition(":")
        text = text_field(tf)
        if not CODE.match(code) or text is None:
            return
        self.emit(event="error", code=code, text=text)
        if not self.registered:
            self.exit_code = 3
            return
        self.reply_done()

    # ---- main loop ---------------------------------------------------------
    def run(self):
        host, _, port = self.server.rpartition(":")
        try:
            self.sock = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except (OSError, ValueError) as e:
            self.emit(event="error", code="UNREACHABLE", text=str(e))
            return 1
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        token = self.load_token()
        ip = "127.0.0.1" if host in ("127.0.0.1", "localhost") else self.sock.getsockname()[0]
        line = "REGISTER:%s:%s:%d" % (self.nick, ip, self.port)
        self.send(line + (":" + token if token else ""))
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, "net")
        sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "cmd")
        stdin_open = True
        while self.exit_code is None:
            for key, _ in sel.select():
                if key.data == "net":
                    try:
                        data = self.sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        self.emit(event="closed", reason="the server closed the connection")
                        return 0 if self.quitting else 1
                    self.rbuf += data
                    while b"\n" in self.rbuf and self.exit_code is None:
                        raw, self.rbuf = self.rbuf.split(b"\n", 1)
                        if self.discarding:
                            self.discarding = False
                        else:
                            self.on_raw_line(raw)
                    if len(self.rbuf) > MAX_LINE + 2:
                        # An overlong line: drop it up to its LF.
                        self.rbuf = b""
                        self.discarding = True
                elif stdin_open:
                    data = os.read(sys.stdin.fileno(), 65536)
                    if not data:
                        stdin_open = False
                        sel.unregister(sys.stdin.fileno())
                        self.quit()
                        continue
                    self.ibuf += data
                    while b"\n" in self.ibuf:
                        raw, self.ibuf = self.ibuf.split(b"\n", 1)
                        cmd = raw.decode("utf-8", "replace").rstrip("\r")
                        if cmd.strip():
                            self.on_command(cmd)
        return self.exit_code

    def on_raw_line(self, raw):
        """One line as framed by LF; a CR just before the LF is part of the terminator."""
        self.on_line(raw[:-1] if raw.endswith(b"\r") else raw)


def main(cls=Client):
    p = argparse.ArgumentParser(description="p2pchat/1 core client, automation mode")
    p.add_argument("--server", required=True)
    p.add_argument("--nick", required=True)
    p.add_argument("--udp-port", type=int, required=True)
    p.add_argument("--data-dir", required=True)
    args = p.parse_args()
    if not NICK.match(args.nick) or not 1 <= args.udp_port <= 65535:
        p.error("bad --nick or --udp-port")
    try:
        sys.exit(cls(args).run())
    except BrokenPipeError:
        # Standard output closed: nothing can be shown any more.
        os._exit(1)


if __name__ == "__main__":
    main()
