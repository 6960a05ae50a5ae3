"""A local SMTP relay for fault tests: records what it accepted, and can be slow or down.

Written on socketserver rather than a library so the tests need nothing more installed; it
speaks just enough SMTP for Django's backend (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
"""

import email
import email.message
import socketserver
import threading
import time


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink: SmtpSink = self.server.sink
        if sink.refusing:
            self.reply("421 relay unavailable")
            return
        self.reply("220 sink ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                # One write, as real relays do: two small writes meet Nagle and delayed ACKs.
                self.reply("250-sink\r\n250 8BITMIME")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                if sink.refusing:
                    self.reply("451 try again later")
                    continue
                # The message is accepted from here: it counts even if the client stops
                # waiting for the confirmation.
                sink.accept(bytes(data))
                if sink.confirm_delay:
                    time.sleep(sink.confirm_delay)
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    """Accepted messages are in `messages`; `confirm_delay` holds back the 250 after DATA;
    `refusing` makes it answer 421 to new connections and 451 to data (an outage);
    `on_accept` is called with each message as it is accepted (to inject a fault then)."""

    def __init__(self):
        # Kept as received and parsed when read: a relay confirms without parsing, so the
        # sink does not slow the sender it measures.
        self._received: list[bytes] = []
        self._parsed: list[email.message.Message] = []
        self.confirm_delay = 0.0
        self.refusing = False
        self.on_accept = None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "SmtpSink":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def accept(self, raw: bytes) -> None:
        with self._lock:
            self._received.append(raw)
        if self.on_accept:
            self.on_accept(email.message_from_bytes(raw))

    @property
    def messages(self) -> list[email.message.Message]:
        with self._lock:
            for raw in self._received[len(self._parsed) :]:
                self._parsed.append(email.message_from_bytes(raw))
            return list(self._parsed)

    def count_by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message["Message-ID"]] = counts.get(message["Message-ID"], 0) + 1
        return counts

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages]
