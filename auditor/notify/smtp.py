"""E-mail over SMTP (stdlib ``smtplib`` and ``email.message``): STARTTLS, SSL or plain.

The password is read from the environment variable ``notify.smtp.password_env`` names, never from
auditor.toml. Messages are text/plain UTF-8; ``email.policy.default`` refuses a header value with a
line break, a second guard behind the one-line subjects of ``templates``.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from auditor.errors import AuditorError
from auditor.notify.channels import DeliveryError


class SmtpChannel:
    name = "email"

    def __init__(self, settings: dict[str, Any], environ: dict[str, str] | None = None) -> None:
        if not settings["host"] or not settings["sender"]:
            raise AuditorError(
                "e-mail notifications need notify.smtp.host and notify.smtp.sender in auditor.toml"
            )
        self.settings = settings
        environ = os.environ if environ is None else environ
        self.password = environ.get(settings["password_env"], "")
        if settings["username"] and not self.password:
            raise AuditorError(
                f"notify.smtp.username is set but the environment variable {settings['password_env']} "
                "(notify.smtp.password_env) holding the password is empty or unset"
            )

    def message(self, address: str, subject: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings["sender"]
        msg["To"] = address
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=self.settings["sender"].rpartition("@")[2] or None)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the auditor
        msg.set_content(body)
        return msg

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings["ca_file"]:
            context.load_verify_locations(cafile=self.settings["ca_file"])
        return context

    def send(self, address: str, subject: str, body: str, *, link: str = "") -> None:
        """Deliver one message; ``DeliveryError`` on any failure (the server's reply in the message)."""
        s = self.settings
        msg = self.message(address, subject, body)
        try:
            if s["security"] == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    s["host"], s["port"], timeout=s["timeout"], context=self._tls()
                )
            else:
                server = smtplib.SMTP(s["host"], s["port"], timeout=s["timeout"])
            with server:
                if s["security"] == "starttls":
                    server.starttls(context=self._tls())
                if s["username"]:
                    server.login(s["username"], self.password)
                refused = server.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP server refused {address}: {exc.recipients}", permanent=True) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"SMTP {s['host']}:{s['port']}: {type(exc).__name__}: {exc}") from None
        if refused:
            raise DeliveryError(f"SMTP server refused {address}: {refused}", permanent=True)
