#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fake JSON-lines agent for the session tests (standard library only).

Reads one request per line on stdin and answers on stdout:

  {"id": N, "method": "echo", "params": P}  ->  {"id": N, "result": P}
  {"id": N, "method": "log", "params": {"text": T}}  ->  T as a plain line, then {"id": N, "result": null}
  {"id": N, "method": "exit", "params": {"code": C}} ->  {"id": N, "result": "bye"}, exit C
  another method                            ->  {"id": N, "error": {"code": -32601, ...}}
  a line that is not JSON                   ->  {"id": null, "error": {"code": -32700, ...}}

It says {"event": "ready"} first, and after every 10th request a plain log
line ("log: handled 10 requests") and {"event": "progress", "handled": 10}.
At end of file: {"event": "eof", "handled": N}, exit 0.

Options:
  --slow-start SECS  sleep before reading anything (the pipe fills meanwhile)
  --sink             only count: at end of file {"event": "sink", "bytes": B,
                     "lines": L, "json": J} (J: lines that are JSON objects)
  --exit-now CODE    exit at once with CODE, reading nothing
  --close-stdin SECS after "ready", close stdin unread, say {"event":
                     "stdin-closed"}, sleep SECS, say {"event": "exiting"}, exit 0
  --trailing TEXT    at the end, write TEXT with no newline after it
"""
import json
import os
import sys
import time


def main():
    args = sys.argv[1:]
    slow, sink, trailing, close_after = 0.0, False, None, None
    while args:
        a = args.pop(0)
        if a == "--slow-start":
            slow = float(args.pop(0))
        elif a == "--sink":
            sink = True
        elif a == "--exit-now":
            sys.exit(int(args.pop(0)))
        elif a == "--close-stdin":
            close_after = float(args.pop(0))
        elif a == "--trailing":
            trailing = args.pop(0)
        else:
            sys.stderr.write("fake_agent: unknown option %s\n" % a)
            sys.exit(2)

    out = sys.stdout

    def say(obj):
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        out.flush()

    def finish(code):
        if trailing is not None:
            out.write(trailing)
            out.flush()
        sys.exit(code)

    say({"event": "ready"})
    if close_after is not None:
        os.close(0)
        say({"event": "stdin-closed"})
        time.sleep(close_after)
        say({"event": "exiting"})
        sys.exit(0)
    if slow:
        time.sleep(slow)
    stdin = sys.stdin.buffer

    if sink:
        nbytes = nlines = njson = 0
        for raw in stdin:
            nbytes += len(raw)
            nlines += raw.endswith(b"\n")
            try:
                njson += isinstance(json.loads(raw), dict)
            except ValueError:
                pass
        say({"event": "sink", "bytes": nbytes, "lines": nlines, "json": njson})
        finish(0)

    handled = 0
    while True:
        raw = stdin.readline()
        if not raw:
            break
        try:
            req = json.loads(raw)
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError:
            say({"id": None, "error": {"code": -32700, "message": "parse error"}})
            continue
        rid, method = req.get("id"), req.get("method")
        params = req.get("params")
        handled += 1
        if method == "echo":
            say({"id": rid, "result": params})
        elif method == "log":
            out.write(str((params or {}).get("text", "")) + "\n")
            out.flush()
            say({"id": rid, "result": None})
        elif method == "exit":
            say({"id": rid, "result": "bye"})
            finish(int((params or {}).get("code", 0)))
        else:
            say({"id": rid, "error": {"code": -32601, "message": "unknown method"}})
        if handled % 10 == 0:
            out.write("log: handled %d requests\n" % handled)
            say({"event": "progress", "handled": handled})
    say({"event": "eof", "handled": handled})
    finish(0)


if __name__ == "__main__":
    main()
