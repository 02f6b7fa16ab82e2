#!/usr/bin/env python3
"""A p2pchat/1 server of the `core` profile, in Python 3 with the standard library only.

It shares no code with the Rust implementations: it was written from spec/PROTOCOL.md to
prove that the conformance suite can judge any program started by a command:

    P2PCHAT_SERVER_CMD='python3 conformance/examples/core_server.py --port {port}' \
    P2PCHAT_SERVER_PROFILES=core cargo test -p conformance --test conformance

What it does (PROTOCOL.md section in brackets):
  framing with CRLF or LF, MAX_LINE, UTF-8, NUL and stray CR checks, in the decoding order
  of 2.1; REGISTER (8), BROADCAST with echo (10), UPDATE JOIN/LEAVE (10), PING/PONG and
  QUIT (17); the error codes of 6 that the core profile can produce; and the SHOULD-level
  bounds of 17: a bound on unsent output (SLOW_READER), a line-rate limit (FLOOD), a
  connection limit (SERVER_FULL), keepalive PING, idle and partial-line timeouts (TIMEOUT).
Verbs of other profiles are answered ERR:UNKNOWN_VERB, as 4 allows.
"""

import argparse
import collections
import ipaddress
import re
import selectors
import socket
import sys
import time

MAX_LINE = 2048
MAX_TEXT = 1024
NICK_RE = re.compile(r"[A-Za-z0-9_-]{1,32}\Z")
HEX32_RE = re.compile(r"[0-9a-f]{32}\Z")
LEN_RE = re.compile(r"[1-9][0-9]*\Z")
PORT_RE = re.compile(r"[1-9][0-9]{0,4}\Z")
OCTET_RE = re.compile(r"(?:0|[1-9][0-9]{0,2})\Z")
CLOSING_GRACE = 30.0  # seconds a closing connection may take to take its last lines
DRAIN_GRACE = 2.0  # seconds to read (and drop) input after the last line was sent


class DecodeError(Exception):
    def __init__(self, code, text):
        super().__init__(code)
        self.code = code
        self.text = text


def err_line(code, text):
    data = text.encode("utf-8")
    return b"ERR:%s:%d:%s" % (code.encode(), len(data), data)


def is_ipv4(s):
    parts = s.split(".")
    return len(parts) == 4 and all(OCTET_RE.match(p) and int(p) <= 255 for p in parts)


def check_address(rest):
    """Parses `<ip>:<port>[:...]`; returns (address text, what follows the port)."""
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            raise DecodeError("BAD_ADDRESS", "an IPv6 address needs its closing bracket")
        inner = rest[1:close]
        if not inner or not re.fullmatch(r"[0-9A-Fa-f:.]+", inner):
            raise DecodeError("BAD_ADDRESS", "not an IPv6 address")
        try:
            ip = ipaddress.IPv6Address(inner)
        except ValueError:
            raise DecodeError("BAD_ADDRESS", "not an IPv6 address") from None
        if ip.is_unspecified:
            raise DecodeError("BAD_ADDRESS", "the unspecified address is not usable")
        ip_text, after = rest[: close + 1], rest[close + 1 :]
    else:
        ip_text, sep, tail = rest.partition(":")
        if not is_ipv4(ip_text):
            raise DecodeError("BAD_ADDRESS", "not an IPv4 address (IPv6 goes in brackets)")
        if ip_text == "0.0.0.0":
            raise DecodeError("BAD_ADDRESS", "the unspecified address is not usable")
        after = sep + tail
    if after == "":
        # 2.1 step 5: the <ip>:<port> pair is one field; an IP with no port is BAD_ADDRESS.
        raise DecodeError("BAD_ADDRESS", "the port is missing")
    if not after.startswith(":"):
        raise DecodeError("BAD_ADDRESS", "a ':' must follow the address")
    port, sep, tail = after[1:].partition(":")
    if not PORT_RE.match(port) or int(port) > 65535:
        raise DecodeError("BAD_ADDRESS", "the port must be 1-65535 without leading zeros")
    return "%s:%s" % (ip_text, port), (sep + tail)


def check_nick(nick):
    if not NICK_RE.match(nick):
        raise DecodeError("BAD_NICK", "a nick is 1-32 of A-Z a-z 0-9 _ -")


def check_text_field(rest):
    length, sep, text = rest.partition(":")
    if not LEN_RE.match(length):
        raise DecodeError("MALFORMED", "<len> must be digits without a leading zero")
    if not sep:
        raise DecodeError("MALFORMED", "the text is missing")
    if len(length) > 4 or int(length) > MAX_TEXT:
        raise DecodeError("TEXT_TOO_LONG", "text is limited to %d octets" % MAX_TEXT)
    if int(length) != len(text.encode("utf-8")):
        raise DecodeError("BAD_LENGTH", "<len> is not the octet count of the text")
    return text


def decode(raw):
    """Decodes a client line (2.1); returns (verb, fields) or raises DecodeError."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("BAD_UTF8", "the line is not valid UTF-8") from None
    if "\x00" in line or "\r" in line:
        raise DecodeError("MALFORMED", "NUL or a stray CR in the line")
    verb, sep, rest = line.partition(":")
    if verb in ("PING", "PONG"):
        if not sep or not NICK_RE.match(rest):
            raise DecodeError("MALFORMED", "a ping token is 1-32 of A-Z a-z 0-9 _ -")
        return verb, rest
    if verb == "QUIT":
        if sep:
            raise DecodeError("MALFORMED", "QUIT has no fields")
        return verb, None
    if verb == "REGISTER":
        if not sep:
            raise DecodeError("MALFORMED", "REGISTER:<nick>:<ip>:<port>")
        nick, sep2, rest2 = rest.partition(":")
        check_nick(nick)
        if not sep2:
            raise DecodeError("MALFORMED", "the address is missing")
        address, tail = check_address(rest2)
        if tail and not HEX32_RE.match(tail[1:]):
            raise DecodeError("MALFORMED", "a token is 32 lowercase hex digits")
        return verb, (nick, address)
    if verb == "BROADCAST":
        if not sep:
            raise DecodeError("MALFORMED", "BROADCAST:<nick>:<len>:<text>")
        nick, sep2, rest2 = rest.partition(":")
        check_nick(nick)
        if not sep2:
            raise DecodeError("MALFORMED", "the text is missing")
        text = check_text_field(rest2)
        return verb, (nick, text)
    raise DecodeError("UNKNOWN_VERB", "this core server does not know that verb")


class Conn:
    def __init__(self, sock, now, tokens):
        self.sock = sock
        self.inbuf = bytearray()
        self.discarding = False
        self.out = collections.deque()
        self.out_off = 0
        self.out_size = 0
        self.state = "connected"  # connected, registered, closing, draining
        self.nick = None
        self.address = None
        self.last_rx = now
        self.partial_since = None
        self.ping_sent = False
        self.tokens = tokens
        self.refilled = now
        self.deadline = None


class Server:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.conns = {}
        self.registry = collections.OrderedDict()  # lower-case nick -> Conn, in order
        self.ping_seq = 0

    # ---- output ------------------------------------------------------------
    def send(self, c, line):
        if c.state in ("closing", "draining"):
            return
        c.out.append(bytes(line) + b"\r\n")
        c.out_size += len(line) + 2
        if c.out_size > self.args.max_output:
            # LIM-1: keep the line being written, drop the rest, end with SLOW_READER.
            head = [c.out.popleft()] if c.out_off else []
            c.out.clear()
            c.out.extend(head)
            c.out_size = sum(len(x) for x in c.out) - c.out_off
            self.close_with(c, "SLOW_READER", "you do not read what you are sent")
            return
        self.want_write(c)

    def want_write(self, c):
        events = selectors.EVENT_READ
        if c.out:
            events |= selectors.EVENT_WRITE
        try:
            self.sel.modify(c.sock, events, c)
        except (KeyError, ValueError):
            pass

    def flush(self, c):
        while c.out:
            chunk = c.out[0]
            try:
                n = c.sock.send(memoryview(chunk)[c.out_off :])
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.drop(c)
                return
            c.out_off += n
            c.out_size -= n
            if c.out_off == len(chunk):
                c.out.popleft()
                c.out_off = 0
        if not c.out and c.state == "closing":
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            c.state = "draining"
            c.deadline = time.monotonic() + DRAIN_GRACE
        if c.sock.fileno() >= 0:
            self.want_write(c)

    def close_with(self, c, code, text):
        """Sends a closing error as the last line (ERR-2), then closes."""
        if c.state in ("closing", "draining"):
            return
        c.out.append(err_line(code, text) + b"\r\n")
        self.begin_close(c)

    def begin_close(self, c):
        self.leave(c)
        c.state = "closing"
        c.deadline = time.monotonic() + CLOSING_GRACE
        self.want_write(c)

    # ---- registry ----------------------------------------------------------
    def leave(self, c):
        if c.state == "registered":
            del self.registry[c.nick.lower()]
            line = b"UPDATE:LEAVE:%s:%s" % (c.nick.encode(), c.address.encode())
            c.state = "connected"
            for other in list(self.registry.values()):
                self.send(other, line)

    def drop(self, c):
        self.leave(c)
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        self.conns.pop(c, None)

    # ---- input -------------------------------------------------------------
    def on_readable(self, c, now):
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if c.state == "draining":
            if not data:
                self.drop(c)
            return
        if not data:
            # Bytes after the last LF are not a line: dropped with the connection.
            self.drop(c)
            return
        if c.state == "closing":
            return
        c.last_rx = now
        c.ping_sent = False
        c.inbuf += data
        self.frame(c, now)

    def frame(self, c, now):
        completed = False
        while c.state in ("connected", "registered"):
            lf = c.inbuf.find(b"\n")
            if c.discarding:
                if lf < 0:
                    c.inbuf.clear()
                    break
                del c.inbuf[: lf + 1]
                c.discarding = False
                completed = True
                continue
            if lf < 0:
                # FRM-4: never hold more than MAX_LINE + 2 octets of one line.
                n = len(c.inbuf)
                if n > MAX_LINE + 1 or (n == MAX_LINE + 1 and c.inbuf[-1:] != b"\r"):
                    if not self.rate_ok(c, now):
                        return
                    self.send(c, err_line("LINE_TOO_LONG", "a line is at most 2048 octets"))
                    c.inbuf.clear()
                    c.discarding = True
                break
            raw = bytes(c.inbuf[:lf])
            del c.inbuf[: lf + 1]
            completed = True
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw:
                continue  # FRM-3
            if not self.rate_ok(c, now):
                return
            if len(raw) > MAX_LINE:
                self.send(c, err_line("LINE_TOO_LONG", "a line is at most 2048 octets"))
                continue
            self.handle(c, raw)
        # LIM-4: how long the current line has been unfinished.
        if c.inbuf or c.discarding:
            if c.partial_since is None or completed:
                c.partial_since = now
        else:
            c.partial_since = None

    def rate_ok(self, c, now):
        """LIM-2: a token bucket of lines per connection."""
        a = self.args
        c.tokens = min(a.flood_burst, c.tokens + (now - c.refilled) * a.flood_rate)
        c.refilled = now
        if c.tokens < 1:
            self.close_with(c, "FLOOD", "too many lines")
            return False
        c.tokens -= 1
        return True

    def handle(self, c, raw):
        try:
            verb, fields = decode(raw)
        except DecodeError as e:
            self.send(c, err_line(e.code, e.text))
            return
        if verb == "PING":
            self.send(c, b"PONG:" + fields.encode())
        elif verb == "PONG":
            pass
        elif verb == "QUIT":
            c.out.append(b"BYE\r\n")
            self.begin_close(c)
        elif verb == "REGISTER":
            self.register(c, *fields)
        elif verb == "BROADCAST":
            nick, text = fields
            if c.state != "registered":
                self.send(c, err_line("NOT_REGISTERED", "register first"))
            elif nick != c.nick:
                self.send(c, err_line("NOT_YOUR_NICK", "you are %s" % c.nick))
            else:
                for other in list(self.registry.values()):
                    self.send(other, raw)

    def register(self, c, nick, address):
        if c.state == "registered":
            self.send(c, err_line("ALREADY_REGISTERED", "you are %s" % c.nick))
            return
        if nick.lower() in self.registry:
            self.send(c, err_line("NICK_IN_USE", "%s is taken" % nick))
            return
        c.state, c.nick, c.address = "registered", nick, address
        self.registry[nick.lower()] = c
        join = b"UPDATE:JOIN:%s:%s" % (nick.encode(), address.encode())
        for other in list(self.registry.values()):
            self.send(other, join)
        if c.state == "registered":
            # REG-2: entries that do not fit in one line go first in LISTPART lines.
            chunk, size = [], len(b"LISTPART")
            for u in self.registry.values():
                entry = b"%s:%s" % (u.nick.encode(), u.address.encode())
                if size + 1 + len(entry) > MAX_LINE:
                    self.send(c, b":".join([b"LISTPART"] + chunk))
                    chunk, size = [], len(b"LISTPART")
                chunk.append(entry)
                size += 1 + len(entry)
            self.send(c, b":".join([b"LIST"] + chunk))

    # ---- timers ------------------------------------------------------------
    def tick(self, now):
        a = self.args
        for c in list(self.conns):
            if c.state in ("closing", "draining"):
                if now >= c.deadline:
                    self.drop(c)
                continue
            if c.partial_since is not None and now - c.partial_since >= a.partial_timeout:
                self.close_with(c, "TIMEOUT", "a line was left unfinished")
            elif now - c.last_rx >= a.idle_timeout:
                self.close_with(c, "TIMEOUT", "nothing received for too long")
            elif now - c.last_rx >= a.keepalive and not c.ping_sent:
                self.ping_seq += 1
                c.ping_sent = True
                self.send(c, b"PING:k%d" % self.ping_seq)

    # ---- main loop ---------------------------------------------------------
    def serve(self):
        a = self.args
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((a.host, a.port))
        listener.listen(1024)
        listener.setblocking(False)
        self.sel.register(listener, selectors.EVENT_READ, None)
        print("core_server.py listening on %s:%d" % listener.getsockname()[:2], flush=True)
        while True:
            for key, events in self.sel.select(timeout=0.1):
                now = time.monotonic()
                if key.data is None:
                    self.accept(listener, now)
                    continue
                c = key.data
                if c not in self.conns:
                    continue
                if events & selectors.EVENT_READ:
                    self.on_readable(c, now)
                if c in self.conns and events & selectors.EVENT_WRITE:
                    self.flush(c)
            self.tick(time.monotonic())

    def accept(self, listener, now):
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = Conn(sock, now, self.args.flood_burst)
            active = sum(1 for x in self.conns if x.state in ("connected", "registered"))
            self.conns[c] = True
            self.sel.register(sock, selectors.EVENT_READ, c)
            if active >= self.args.max_connections:
                self.close_with(c, "SERVER_FULL", "the server is full")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1337)
    p.add_argument("--max-connections", type=int, default=16384)
    p.add_argument("--max-output", type=int, default=1 << 20, help="octets (LIM-1)")
    p.add_argument("--flood-burst", type=float, default=200.0, help="lines (LIM-2)")
    p.add_argument("--flood-rate", type=float, default=100.0, help="lines/s (LIM-2)")
    p.add_argument("--keepalive", type=float, default=30.0, help="seconds (KA-3)")
    p.add_argument("--idle-timeout", type=float, default=90.0, help="seconds (KA-3)")
    p.add_argument("--partial-timeout", type=float, default=30.0, help="seconds (LIM-4)")
    args = p.parse_args()
    try:
        Server(args).serve()
    except KeyboardInterrupt:
        return 0
    except OSError as e:
        print("core_server.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
