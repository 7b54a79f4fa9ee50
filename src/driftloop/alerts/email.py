"""SMTP e-mail: one multipart message (plain text + HTML) to the configured recipients."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from driftloop.alerts.message import AlertMessage, DeliveryError, feature_lines
from driftloop.config import Settings

__all__ = ["build_email", "send"]

COLOURS = {"high": "#e03131", "medium": "#f08c00", "low": "#f2c200", "none": "#2f9e44"}


def _plain(message: AlertMessage) -> str:
    lines = [message.title, "", message.summary, ""]
    lines += [f"  - {x}" for x in feature_lines(message)]
    lines += [
        "",
        f"Severity: {message.severity}",
        f"Date: {message.logical_date or '-'}",
        f"Images: {message.n_current} (quarantined {message.n_quarantined})",
        f"Model: {message.model_version or '-'}   Baseline: {message.baseline_version or '-'}",
        f"Run: {message.run_key}",
    ]
    if message.report_url:
        lines += ["", f"Report: {message.report_url}"]
    return "\n".join(lines) + "\n"


def _html(message: AlertMessage) -> str:
    colour = "#2f9e44" if message.kind == "resolve" else COLOURS.get(message.severity, "#868e96")
    items = "".join(f"<li>{html.escape(x)}</li>" for x in feature_lines(message))
    link = (
        f'<p><a href="{html.escape(message.report_url)}">Open the report</a></p>'
        if message.report_url
        else ""
    )
    return (
        '<html><body style="font-family:sans-serif">'
        f'<div style="background:{colour};color:#fff;padding:12px 16px;font-size:18px">'
        f"<b>{html.escape(message.title)}</b></div>"
        f"<p>{html.escape(message.summary)}</p>"
        + (f"<ul>{items}</ul>" if items else "")
        + f"<p>Severity <b>{html.escape(message.severity)}</b> · date "
        f"{html.escape(message.logical_date or '-')} · {message.n_current} images · "
        f"{message.n_quarantined} quarantined<br>model {html.escape(message.model_version or '-')}"
        f" · baseline {html.escape(message.baseline_version or '-')} · run "
        f"<code>{html.escape(message.run_key)}</code></p>{link}</body></html>"
    )


def build_email(message: AlertMessage, settings: Settings) -> EmailMessage:
    """The multipart/alternative e-mail for ``message``."""
    cfg = settings.alerts.email
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = cfg.sender
    mail["To"] = ", ".join(cfg.recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain="driftloop")
    mail["X-Driftloop-Dedup-Key"] = message.dedup_key
    mail.set_content(_plain(message))
    mail.add_alternative(_html(message), subtype="html")
    return mail


def send(message: AlertMessage, settings: Settings, _client: Any = None) -> dict[str, Any]:
    """Deliver over SMTP (plain, STARTTLS or TLS; login when a username is set)."""
    cfg = settings.alerts.email
    if not cfg.host or not cfg.recipients:
        raise DeliveryError("email: alerts.email.host and recipients must be set", retryable=False)
    mail = build_email(message, settings)
    timeout = settings.alerts.timeout_seconds
    try:
        smtp: smtplib.SMTP
        if cfg.security == "ssl":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
        with smtp:
            if cfg.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                password = cfg.password.get_secret_value() if cfg.password else ""
                smtp.login(cfg.username, password)
            refused = smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"email: login as {cfg.username!r} refused ({exc.smtp_code})", retryable=False
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"email: {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryError(f"email: recipients refused: {sorted(refused)}", retryable=False)
    return {"subject": message.title, "to": list(cfg.recipients), "text": _plain(message)}
