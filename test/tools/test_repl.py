#!/usr/bin/env python3
"""The m0 REPL through a pseudo-terminal, as a user types: the prompt
shows the stack depth, open braces, strings and hex strings continue on
the next line, Ctrl-C stops a running loop or a wait and keeps the stack,
Ctrl-C at the prompt drops the unfinished entry, help lists every
operator, a long name outside longdict gets a hint, quit, exit and Ctrl-D
leave, and the history is saved in ~/.m0_history.
    test_repl.py M0"""
import os
import pty
import select
import sys
import tempfile
import termios
import time

M0 = sys.argv[1]
fails = 0


class Repl:
    def __init__(self, home):
        env = dict(os.environ, HOME=home, TERM="dumb")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(M0, [M0], env)
        self.buf = b""

    def expect(self, what, timeout=5.0):
        """Reads until `what` (bytes) shows; returns what came before."""
        end = time.monotonic() + timeout
        while what not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waited for {what!r}, got {self.buf[-300:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise EOFError(f"m0 ended; waited for {what!r}, got {self.buf[-300:]!r}")
                self.buf += chunk
        i = self.buf.index(what)
        before, self.buf = self.buf[:i], self.buf[i + len(what):]
        return before

    def raw(self, timeout=5.0):
        """Waits until line editing owns the terminal (ICANON off): keys
        sent before may be flushed when libedit switches modes."""
        end = time.monotonic() + timeout
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.monotonic() > end:
                raise TimeoutError("the terminal never left canonical mode")
            time.sleep(0.01)

    def send(self, s):
        os.write(self.fd, s.encode() if isinstance(s, str) else s)

    def line(self, s):
        self.raw()
        self.send(s + "\r")

    def wait(self, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(st)
            try:  # drain, so m0 never blocks on a full pty
                if select.select([self.fd], [], [], 0.05)[0]:
                    os.read(self.fd, 4096)
            except OSError:
                pass
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        return None


def check(name, ok, detail=""):
    global fails
    if ok:
        print(f"ok {name}")
    else:
        fails += 1
        print(f"FAIL {name} {detail}")


def step(name, fn):
    try:
        fn()
    except (TimeoutError, EOFError) as e:
        check(name, False, str(e))


with tempfile.TemporaryDirectory() as home:
    r = Repl(home)
    step("banner and prompt", lambda: (r.expect(b"M0 0> "), check("banner and prompt", True)))

    def depth():
        r.line("1 2")
        r.expect(b"M0 2> ")
        check("prompt shows the depth", True)
    step("prompt shows the depth", depth)

    def braces():
        r.line("{ 1")
        r.expect(b"  ... ")
        r.line("  2 }")
        r.expect(b"M0 3> ")
        check("open brace continues", True)
    step("open brace continues", braces)

    def strings():
        r.line('"ab')
        r.expect(b"  ... ")
        r.line('cd" print \\41')
        r.expect(b"  ... ")
        r.line('42\\ print')
        out = r.expect(b"M0 3> ")
        check("string and hex string continue", b"ab\r\ncdAB" in out, repr(out))
    step("string and hex string continue", strings)

    def interrupt_loop():
        r.line("1N {} L")
        time.sleep(0.3)  # let it spin
        r.send(b"\x03")
        out = r.expect(b"M0 3> ")
        check("^C stops a loop, stack kept", b"interrupted" in out, repr(out))
    step("^C stops a loop, stack kept", interrupt_loop)

    def interrupt_wait():
        r.line("1000000000 sleep")
        time.sleep(0.3)
        r.send(b"\x03")
        out = r.expect(b"> ")
        check("^C stops a wait", b"interrupted" in out, repr(out))
        r.line("stack")
        out = r.expect(b"> ")
        # What ran stays as it was when stopped: here sleep's queue key.
        check("the stack survived", b"{1 2}\r\n2\r\n1\r\nM0 " in out, repr(out))
        r.line("P")  # drop the key sleep left
        r.expect(b"M0 3> ")
    step("^C stops a wait", interrupt_wait)

    def interrupt_prompt():
        r.line("{ 5")
        r.expect(b"  ... ")
        r.raw()
        r.send(b"\x03")
        r.expect(b"> ")
        r.line("1 ptop")
        out = r.expect(b"M0 3> ")
        check("^C at the prompt drops the entry", b"1" in out, repr(out))
    step("^C at the prompt drops the entry", interrupt_prompt)

    def helps():
        r.line("help")
        out = r.expect(b"M0 3> ")
        lines = out.decode("utf-8", "replace").splitlines()
        names = {l.split()[0] for l in lines if l.strip()}
        missing = [n for n in ["P", "X", "+", "L", "_ctm", "$", "@", "_stk"] if n not in names]
        check("help lists the operators", not missing and b"(no description)" not in out,
              f"missing {missing}")
        r.line("help L")
        out = r.expect(b"M0 3> ")
        check("help NAME: one entry", out.count(b"\n") <= 2 and b"loop" in out, repr(out))
    step("help", helps)

    def errors():
        r.line("foo")
        out = r.expect(b"M0 3> ")
        check("errors are reported, the session lives", b"error: undefined foo" in out, repr(out))
        r.line("1 }")
        out = r.expect(b"M0 3> ")
        check("syntax error with its place", b"(repl):1:3: syntax error" in out, repr(out))
    step("errors", errors)

    def quit_():
        r.line("quit")
        check("quit leaves with 0", r.wait() == 0)
    step("quit", quit_)
    try:
        hist = open(os.path.join(home, ".m0_history"), "rb").read()
    except OSError:
        hist = b""
    # libedit writes spaces as \040.
    check("history saved", b"1N {} L" in hist.replace(b"\\040", b" "), repr(hist[-200:]))

    r = Repl(home)
    step("exit", lambda: (r.expect(b"M0 0> "), r.line("exit"),
                          check("exit leaves with 0", r.wait() == 0)))
    r = Repl(home)

    def eof():
        r.expect(b"M0 0> ")
        r.raw()
        r.send(b"\x04")
        rc = r.wait()
        check("^D leaves with 0", rc == 0, f"status {rc}")
    step("^D", eof)

sys.exit(1 if fails else 0)
