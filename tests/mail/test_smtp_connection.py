"""The built-in SMTP mailer's two steps against real servers on loopback: a staged mail is accepted
only once completed, a cancelled one never; a line starting with a dot survives; refusals are
typed; a server that goes away after the final dot makes the mail "unconfirmed", not "try again"."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

from domain.mail.contract import Mail, MailDeferred, MailRefused, MailUnconfirmed, StagedConnection
from plugins.mailer import SmtpConnection, mime_bytes
from tests.mail.smtp import Sink, SmtpServer, free_port


def _mail(to: str, text: str = "Hallo") -> Mail:
    return Mail(
        message_id=f"<t.{to}@example.nl>",
        sender='"Schouwburg" <theater@example.nl>',
        to=to,
        subject="Test",
        html="<p>Hallo</p>",
        text=text,
    )


def test_a_staged_mail_is_accepted_only_when_completed():
    with SmtpServer() as smtp:
        connection = SmtpConnection(smtp.config())
        assert isinstance(connection, StagedConnection)
        connection.stage(_mail("weg@example.nl"))
        connection.cancel()  # inside DATA: the server keeps nothing
        connection.stage(_mail("anna@example.nl", text=".punt aan het begin\n..twee"))
        assert smtp.sink.to() == []  # the message went over, the final dot did not
        connection.complete()
        connection.send(_mail("bram@example.nl"))
        connection.close()
        assert smtp.sink.to() == ["anna@example.nl", "bram@example.nl"]
        body = smtp.sink.messages[0].get_body(preferencelist=("plain",)).get_content()
        assert body.startswith(".punt aan het begin\n..twee")


def test_refusals_are_typed_and_the_connection_goes_on():
    with SmtpServer(Sink(refuse={"nee@example.nl"}, throttle_first=1)) as smtp:
        connection = SmtpConnection(smtp.config())
        with pytest.raises(MailDeferred, match="^451"):
            connection.send(_mail("anna@example.nl"))
        with pytest.raises(MailRefused, match="^550"):
            connection.stage(_mail("nee@example.nl"))
        connection.send(_mail("anna@example.nl"))
        connection.close()
        assert smtp.sink.to() == ["anna@example.nl"]


class _GoneAfterTheDot(socketserver.StreamRequestHandler):
    """Answers like a server until the final dot, then closes without answering."""

    def handle(self) -> None:
        self.wfile.write(b"220 test\r\n")
        in_data = False
        for line in self.rfile:
            if in_data:
                if line == b".\r\n":
                    self.server.got_dot = True  # type: ignore[attr-defined]
                    return
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-test\r\n250 SIZE 1000000\r\n")
            elif verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def test_a_server_gone_after_the_final_dot_leaves_the_mail_unconfirmed():
    port = free_port()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), _GoneAfterTheDot)
    server.got_dot = False  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = SmtpConnection({"host": "127.0.0.1", "port": port, "security": "none"})
        connection.stage(_mail("anna@example.nl"))
        with pytest.raises(MailUnconfirmed):
            connection.complete()
        assert server.got_dot  # type: ignore[attr-defined]
        connection.close()
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_server_is_try_again():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    connection = SmtpConnection({"host": "127.0.0.1", "port": port, "security": "none"})
    with pytest.raises(MailDeferred, match="cannot reach"):
        connection.stage(_mail("anna@example.nl"))


def test_non_ascii_headers_arrive_as_written():
    subject = "Voor jou, Zoë: één avond Ελληνικά 😀 — " * 4
    with SmtpServer() as smtp:
        connection = SmtpConnection(smtp.config())
        mail = _mail("anna@example.nl")
        mail = Mail(**{**mail.__dict__, "subject": subject, "sender": '"Schouwburg Zoë" <theater@example.nl>'})
        connection.send(mail)
        connection.close()
        [message] = smtp.sink.messages
    assert message["Subject"] == " ".join(subject.split())
    assert message["From"].addresses[0].display_name == "Schouwburg Zoë"
    head = mime_bytes(mail).split(b"\r\n\r\n", 1)[0]
    subject_lines = head.split(b"\r\nSubject: ", 1)[1].split(b"\r\nDate:", 1)[0].split(b"\r\n")
    assert len(subject_lines) > 1 and all(len(line) <= 90 for line in subject_lines)  # folded
