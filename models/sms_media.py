import logging
import time
from datetime import timedelta

from markupsafe import Markup

from odoo import Command, _, api, fields, models

from ..tools import media as media_tools
from ..tools.compat import cron_progress
from .sms_event import CRON_TIME_BUDGET, in_test_mode

_logger = logging.getLogger(__name__)

MAX_SIZE_PARAM = "crm_sms_conversation.media_max_size_mb"
# Twilio's limit for the files of one message.
DEFAULT_MAX_SIZE_MB = 5
# Minutes to wait before each new attempt of a failed download; the file is
# given up after the last one (about 3 hours in all).
RETRY_DELAYS = (1, 5, 30, 120)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


class SmsMedia(models.Model):
    """A file (picture, PDF, contact card, recording) of a customer's text
    message, downloaded after the message's text is posted.

    Processing an inbound message posts its text at once and queues its
    files here; the download cron fetches them, each in its own transaction
    (outside tests), and attaches them to the chatter message. A failed
    download is retried later; after the last attempt, or when the file is
    refused (too big, type not allowed), the message gets a note saying so.
    """

    _name = "sms.media"
    _description = "File of a Received Text Message"
    _order = "id"
    _rec_name = "url"

    message_id = fields.Many2one("mail.message", required=True, readonly=True, ondelete="cascade", index=True)
    account_id = fields.Many2one("sms.account", required=True, readonly=True, ondelete="cascade")
    sequence = fields.Integer(readonly=True, help="Place of the file in its message, from 1.")
    url = fields.Char("URL", required=True, readonly=True)
    declared_type = fields.Char(readonly=True, help="Content type the provider announced (may be empty).")
    state = fields.Selection(
        [("pending", "To Download"), ("done", "Attached"), ("refused", "Refused"), ("failed", "Not Downloaded")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(default=0, readonly=True)
    next_attempt_date = fields.Datetime("Next Attempt", readonly=True)
    error = fields.Char(readonly=True)
    attachment_id = fields.Many2one("ir.attachment", readonly=True, ondelete="set null")

    def init(self):
        # The download cron's look-up: files still to download.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_media_pending_idx ON sms_media (id) WHERE state = 'pending'"
        )

    # Queue ---------------------------------------------------------------

    @api.model
    def _queue(self, account, message, pairs):
        """Queue the files (``InboundSms.media``) of the inbound ``message`` and
        have the download cron run once this transaction is committed."""
        if not pairs:
            return self.browse()
        files = self.sudo().create(
            [
                {
                    "message_id": message.id,
                    "account_id": account.id,
                    "sequence": index,
                    "url": url,
                    "declared_type": content_type or False,
                }
                for index, (url, content_type) in enumerate(pairs, start=1)
            ]
        )
        files._download_cron()._trigger()
        return files

    @api.model
    def _download_cron(self):
        cron = self.env.ref("crm_sms_conversation.ir_cron_sms_media_download", raise_if_not_found=False)
        return (cron or self.env["ir.cron"]).sudo()

    @api.model
    def _max_bytes(self):
        value = self.env["ir.config_parameter"].sudo().get_param(MAX_SIZE_PARAM, DEFAULT_MAX_SIZE_MB)
        try:
            size_mb = float(value)
        except (TypeError, ValueError):
            size_mb = DEFAULT_MAX_SIZE_MB
        return int((size_mb if size_mb > 0 else DEFAULT_MAX_SIZE_MB) * 1024 * 1024)

    # Download ------------------------------------------------------------

    @api.model
    def _cron_download(self, batch_size=20):
        """Download the due files, oldest first, each committed on its own
        (outside tests), until none is left or the run's time is up."""
        started = time.monotonic()
        done, seen = 0, set()
        while time.monotonic() - started < CRON_TIME_BUDGET:
            files = self._due(batch_size, exclude=seen)
            if not files:
                break
            seen.update(files.ids)
            for item in files:
                # As the SMS Gateway, in the language of the account's company (the notes).
                item.with_env(item.account_id._get_gateway_env()).sudo()._download()
                done += 1
                if not in_test_mode():
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        cron_progress(self.env, done, len(self._due(batch_size, exclude=seen)))
        return done

    @api.model
    def _due(self, limit, exclude=()):
        return self.sudo().search(
            [
                ("state", "=", "pending"),
                ("id", "not in", list(exclude)),
                "|",
                ("next_attempt_date", "=", False),
                ("next_attempt_date", "<=", fields.Datetime.now()),
            ],
            limit=limit,
        )

    def _download(self):
        """One attempt: attach the file, or keep the failure for a retry, or
        give up with a note. Run as the SMS Gateway in superuser mode."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                api = self.account_id._get_provider_api()
                result = api.download_media(self.url, self._max_bytes())
                if result.status == "ok":
                    self._attach(result)
                elif result.status == "refused":
                    self._give_up("refused", self._refusal_text(result), result.error_message)
                else:
                    self._record_failure(result.error_code, result.error_message)
        except Exception as exc:  # any failure is kept for a retry
            _logger.exception("SMS file %s could not be downloaded", self.id)
            self._record_failure("", str(exc) or exc.__class__.__name__)

    def _attach(self, result):
        """Attach the downloaded file to the message, and so to its record's
        chatter; readable through an access token by whoever sees the
        conversation (the pane)."""
        self.ensure_one()
        message = self.message_id
        attachment = self.env["ir.attachment"].create(
            {
                "name": media_tools.file_name(self.sequence, result.content_type),
                "raw": result.content,
                "mimetype": result.content_type,
                "res_model": message.model,
                "res_id": message.res_id,
            }
        )
        attachment.generate_access_token()
        message.write({"attachment_ids": [Command.link(attachment.id)]})
        self.write({"state": "done", "attempts": self.attempts + 1, "attachment_id": attachment.id, "error": False})
        self._notify_message()

    def _record_failure(self, code, details):
        """A download that failed (provider unreachable or answering an error,
        credentials that cannot be used): tried again later, given up with a
        note after the last attempt."""
        self.ensure_one()
        attempts = self.attempts + 1
        error = f"HTTP {code}: {details}" if code.isdigit() else details
        if attempts >= MAX_ATTEMPTS:
            _logger.warning("SMS file %s given up after %s attempts: %s", self.id, attempts, error)
            self.attempts = attempts
            self._give_up("failed", self._failure_text(code), error)
            return
        _logger.info("SMS file %s not downloaded (attempt %s of %s): %s", self.id, attempts, MAX_ATTEMPTS, error)
        next_date = fields.Datetime.now() + timedelta(minutes=RETRY_DELAYS[attempts - 1])
        self.write({"attempts": attempts, "next_attempt_date": next_date, "error": error})
        self._download_cron()._trigger(next_date)

    def _give_up(self, state, note, error):
        """No file: the message says so, in a note of its own below the customer's text."""
        self.ensure_one()
        message = self.message_id
        message.write({"body": Markup("%s<p class='o_crm_sms_media_note'>[%s]</p>") % (message.body or "", note)})
        values = {"state": state, "error": error, "next_attempt_date": False}
        if state == "refused":
            values["attempts"] = self.attempts + 1
        self.write(values)
        self._notify_message()

    def _notify_message(self):
        """Open conversation panes show the message again, with its files."""
        message = self.message_id
        if message.sms_conversation_id:
            message.sms_conversation_id._notify_status(message)

    # Notes ---------------------------------------------------------------

    def _label(self):
        self.ensure_one()
        return _("Picture") if (self.declared_type or "").startswith("image/") else _("File")

    def _refusal_text(self, result):
        """Why a file was refused, for the chatter."""
        self.ensure_one()
        label = self._label()
        if result.error_code == "size":
            # Computed outside the call: the translation extraction reads its strings.
            limit = "%g" % (self._max_bytes() / 1024 / 1024)
            return _(
                "%(file)s not kept: it is larger than the %(limit)s MB limit (Settings > CRM > Text Messages).",
                file=label,
                limit=limit,
            )
        if result.error_code == "type":
            return _(
                "%(file)s not kept: files of type %(type)s are not accepted.", file=label, type=result.error_message
            )
        if result.error_code == "mismatch":
            return _(
                "%(file)s not kept: it claims to be %(type)s but its content is something else.",
                file=label,
                type=result.error_message,
            )
        return _(
            "%(file)s not kept: its address is not a safe one (%(reason)s) — open it in the provider's console.",
            file=label,
            reason=result.error_message,
        )

    def _failure_text(self, code):
        self.ensure_one()
        if code == "credentials":
            return _(
                "%(file)s not downloaded: the SMS account's credentials for the provider's files cannot be used "
                "— open it in the provider's console.",
                file=self._label(),
            )
        if code:
            return _(
                "%(file)s not downloaded: the provider answered %(code)s — open it in the provider's console.",
                file=self._label(),
                code=code,
            )
        return _(
            "%(file)s not downloaded: the provider could not be reached — open it in the provider's console.",
            file=self._label(),
        )
