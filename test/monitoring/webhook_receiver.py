#!/usr/bin/python3
"""test/monitoring/webhook_receiver.py -- a stand-in for Slack on loopback.

    webhook_receiver.py <port> <output file> [max seconds, default 600]

Alertmanager's Slack notifier POSTs JSON to the webhook URL; the live test
points that URL here, so a notification that reaches this file has gone
through Prometheus's rule evaluation, Alertmanager's routing and the Slack
receiver of alertmanager.yml.  Each POST is appended as one JSON line
{"path": ..., "body": ...}.  The server only binds 127.0.0.1 and exits by
itself after max seconds, so a test that dies cannot leave it behind.
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        with open(self.server.output, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):  # quiet: the test reads the file
        pass


def main():
    port, output = int(sys.argv[1]), sys.argv[2]
    deadline = time.monotonic() + (float(sys.argv[3]) if len(sys.argv) > 3 else 600)
    server = HTTPServer(("127.0.0.1", port), Receiver)
    server.output = output
    server.timeout = 1
    while time.monotonic() < deadline:
        server.handle_request()


if __name__ == "__main__":
    main()
