#!/usr/bin/env python3
"""Serves the example expositions in testdata/ as if they were live daemons.

  fake_exporter.py --port-file FILE testdata/coordinator.prom testdata/worker-a.prom ...

Each file is served at /<file name without .prom> on 127.0.0.1, on a free
port written to FILE once listening. So that rate() sees movement, every
sample of a counter or histogram family is multiplied by (1 + seconds since
start / 100): a counter written as V grows by V/100 per second, which keeps
the fixtures' ratios plausible (MFU about 0.8). Gauges are served as
written, except that a value `now-N` becomes the current unix time minus N.
Runs until killed.
"""

import argparse
import http.server
import os
import re
import time

START = time.time()
RATE_DIVISOR = 100


def load(path):
    """[(line, scales)]: each sample line with whether its value grows."""
    kinds = {}
    lines = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"# TYPE (\S+) (\S+)", line)
            if m:
                kinds[m.group(1)] = m.group(2)
            if not line or line.startswith("#"):
                lines.append((line, False))
                continue
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in kinds else name
            lines.append((line, kinds.get(family) in ("counter", "histogram")))
    return lines


def render(lines):
    now = time.time()
    factor = 1 + (now - START) / RATE_DIVISOR
    out = []
    for line, scales in lines:
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            if value.startswith("now-"):
                value = repr(now - float(value[4:]))
            elif scales:
                value = repr(float(value) * factor)
            line = f"{series} {value}"
        out.append(line)
    return ("\n".join(out) + "\n").encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    pages = {"/" + os.path.basename(p)[: -len(".prom")]: load(p) for p in args.files}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            lines = pages.get(self.path.split("?")[0])
            if lines is None:
                self.send_error(404)
                return
            body = render(lines)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *unused):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
