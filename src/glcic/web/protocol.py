"""The HTTP protocol `glcic serve` runs: uvicorn's h11 protocol, with its one plain-text answer
(400 "Invalid HTTP request received.", for bytes that are not HTTP, bad headers or an unsupported
upgrade) sent as JSON `{"error": ...}` like every other error of the API.

h11 is chosen explicitly, so the answer does not change when httptools happens to be installed."""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MALFORMED = "malformed HTTP request"


class JsonErrorH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": f"{MALFORMED}: {msg.rstrip('.').lower()}"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()
