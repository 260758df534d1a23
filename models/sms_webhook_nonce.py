from datetime import timedelta

from odoo import api, fields, models

from ..tools.compat import Constraint

NONCE_RETENTION = timedelta(days=2)


class SmsWebhookNonce(models.Model):
    """Nonces of the providers' signed webhooks whose signature does not cover
    the whole request (Plivo's V2 signs the URL and the nonce only): a nonce
    is accepted once, so a captured signature cannot be replayed."""

    _name = "sms.webhook.nonce"
    _description = "SMS Webhook Nonce"
    _log_access = False

    account_id = fields.Many2one("sms.account", required=True, ondelete="cascade", index=True)
    nonce = fields.Char(required=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now)

    _account_nonce_unique = Constraint("unique(account_id, nonce)", "This nonce was already used.")

    @api.model
    def _claim(self, account, nonce):
        """Record ``nonce`` for ``account``; False when it was used before.
        Plain SQL with the caller's cursor, as the event store."""
        self.env.cr.execute(
            """
            INSERT INTO sms_webhook_nonce (account_id, nonce, date) VALUES (%s, %s, now() at time zone 'UTC')
            ON CONFLICT (account_id, nonce) DO NOTHING
            RETURNING id
            """,
            (account.id, nonce[:200]),
        )
        return bool(self.env.cr.fetchone())

    @api.autovacuum
    def _gc_nonces(self):
        """Providers sign with a fresh nonce at every call: old ones need not be kept."""
        self.env.cr.execute("DELETE FROM sms_webhook_nonce WHERE date < %s", (fields.Datetime.now() - NONCE_RETENTION,))
