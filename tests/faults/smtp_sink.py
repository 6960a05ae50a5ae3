"""A local SMTP relay for fault tests: records what it accepted, and can be slow or down.

Written on socketserver rather than a library so the tests need nothing more installed; it
speaks just enough SMTP for Django's backend (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), and
offers PIPELINING as production relays do (RFC 2920: commands are read in turn from a buffer,
so a client may write several at once).
"""

import email
import email.message
import socket
import socketserver
import threading
import time


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def setup(self):
        super().setup()
        # Each reply goes at once: the replies to pipelined commands are written one by one,
        # and Nagle would hold the second back for the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink: SmtpSink = self.server.sink
        if sink.refusing:
            self.reply("421 relay unavailable")
            return
        self.reply("220 sink ready")
        sender, recipients = False, 0  # of the message in hand
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                # One write, as real relays do: two small writes meet Nagle and delayed ACKs.
                pipelining = "250-PIPELINING\r\n" if sink.pipelining else ""
                self.reply(f"250-sink\r\n{pipelining}250 8BITMIME")
            elif verb == "MAIL" and sink.refusing_senders:
                recipients, sender = 0, False
                self.reply("451 sender refused for now")
            elif verb in ("MAIL", "RSET"):
                recipients, sender = 0, verb == "MAIL"
                self.reply("250 OK")
            elif verb == "RCPT":
                address = line.decode(errors="replace").split(":", 1)[-1].strip().strip("<>")
                if not sender:
                    self.reply("503 need MAIL first")
                elif address in sink.closing_on_recipients:
                    self.reply("421 closing the session")
                    return
                elif address in sink.refused_recipients:
                    self.reply("550 no such mailbox")
                else:
                    recipients += 1
                    self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "DATA" and not recipients and not sink.data_without_recipients:
                self.reply("554 no valid recipients")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                if not recipients:
                    sender = False
                    self.reply("554 no valid recipients")
                    continue
                recipients, sender = 0, False
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
    `refusing_senders` answers 451 to MAIL; `refused_recipients` are answered 550 to RCPT,
    `closing_on_recipients` 421 before the session is closed,
    and DATA without an accepted recipient 554 (unless `data_without_recipients`: then it
    reads the data and refuses it after);
    `pipelining` says whether EHLO offers PIPELINING;
    `on_accept` is called with each message as it is accepted (to inject a fault then)."""

    def __init__(self):
        # Kept as received and parsed when read: a relay confirms without parsing, so the
        # sink does not slow the sender it measures.
        self._received: list[bytes] = []
        self._parsed: list[email.message.Message] = []
        self.confirm_delay = 0.0
        self.refusing = False
        self.refusing_senders = False
        self.refused_recipients: set[str] = set()
        self.closing_on_recipients: set[str] = set()
        self.data_without_recipients = False
        self.pipelining = True
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
