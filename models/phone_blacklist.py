import logging

from odoo import api, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    @api.model
    def _sms_opt_out(self, e164, message):
        """Blacklist ``e164`` at a customer's request. Odoo's blacklist refuses
        numbers phonenumbers finds possible but not valid (new ranges, rare
        countries): such a number is stored as received, since an opt-out must
        always be kept."""
        blacklist_sudo = self.sudo()
        try:
            with self.env.cr.savepoint():
                return blacklist_sudo._add([e164], message=message)
        except UserError as exc:
            _logger.info("Opt-out of %s kept outside Odoo's number check: %s", e164, exc)
        self.flush_model()
        self.env.cr.execute(
            """
            INSERT INTO phone_blacklist (number, active, create_uid, create_date, write_uid, write_date)
                 VALUES (%s, true, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT (number) DO UPDATE SET active = true, write_uid = EXCLUDED.write_uid,
                                               write_date = EXCLUDED.write_date
              RETURNING id
            """,
            (e164, self.env.uid, self.env.uid),
        )
        record_sudo = blacklist_sudo.browse(self.env.cr.fetchone()[0])
        record_sudo.invalidate_recordset()
        record_sudo.with_context(mail_create_nosubscribe=True).message_post(body=message, subtype_xmlid="mail.mt_note")
        return record_sudo

    @api.model
    def _sms_opt_in(self, e164, message):
        """Lift the blacklisting of ``e164`` at a customer's request."""
        blacklist_sudo = self.sudo().with_context(active_test=False)
        existing = blacklist_sudo.search([("number", "=", e164), ("active", "=", True)])
        if not existing:
            return existing
        try:
            with self.env.cr.savepoint():
                return blacklist_sudo._remove([e164], message=message)
        except UserError:
            existing.action_archive()
            return existing
