import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

OPT_IN_LIFTS_MANUAL_PARAM = "crm_sms_conversation.opt_in_lifts_manual_blacklist"


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    sms_opted_out_by_customer = fields.Boolean(
        "Opted Out by the Customer",
        readonly=True,
        help="Blacklisted because the customer asked (a STOP reply, or the provider's opt-out). A customer's "
        "opt-in (START) lifts only such entries, unless the settings allow lifting the ones added by hand.",
    )

    @api.model
    def _sms_blacklisted(self, numbers):
        """The numbers of ``numbers`` that are on the blacklist (active entries), as a set."""
        return set(self.sudo().search([("number", "in", list(numbers))]).mapped("number"))

    @api.model
    def _sms_opt_out(self, e164, message):
        """Blacklist ``e164`` at a customer's request. Odoo's blacklist refuses
        numbers phonenumbers finds possible but not valid (new ranges, rare
        countries): such a number is stored as received, since an opt-out must
        always be kept."""
        blacklist_sudo = self.sudo()
        already = blacklist_sudo.search([("number", "=", e164), ("active", "=", True)], limit=1)
        if already:
            # Blacklisted before (by hand, or an earlier STOP): the entry stays as it is.
            return already
        try:
            with self.env.cr.savepoint():
                record_sudo = blacklist_sudo._add([e164], message=message)
                record_sudo.sms_opted_out_by_customer = True
                return record_sudo
        except UserError as exc:
            _logger.info("Opt-out of %s kept outside Odoo's number check: %s", e164, exc)
        self.flush_model()
        self.env.cr.execute(
            """
            INSERT INTO phone_blacklist (number, active, sms_opted_out_by_customer, create_uid, create_date,
                                         write_uid, write_date)
                 VALUES (%s, true, true, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT (number) DO UPDATE SET active = true,
                                               sms_opted_out_by_customer = phone_blacklist.sms_opted_out_by_customer
                                                                           OR NOT phone_blacklist.active,
                                               write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
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
        """Lift the blacklisting of ``e164`` at a customer's request. An entry
        added by hand stays, unless the settings allow the customer to lift
        it. Returns the lifted entry, and whether the opt-in was refused."""
        blacklist_sudo = self.sudo().with_context(active_test=False)
        existing = blacklist_sudo.search([("number", "=", e164), ("active", "=", True)])
        if not existing:
            return existing, False
        if not existing.sms_opted_out_by_customer and not self._sms_opt_in_lifts_manual():
            return blacklist_sudo.browse(), True
        return self._sms_lift(existing, e164, message), False

    @api.model
    def _sms_opt_in_lifts_manual(self):
        return self.env["ir.config_parameter"].sudo().get_param(OPT_IN_LIFTS_MANUAL_PARAM) == "True"

    @api.model
    def _sms_lift(self, existing, e164, message):
        blacklist_sudo = self.sudo().with_context(active_test=False)
        try:
            with self.env.cr.savepoint():
                lifted = blacklist_sudo._remove([e164], message=message)
        except UserError:
            existing.action_archive()
            lifted = existing
        # Added again by hand later, it is the admin's entry.
        lifted.sms_opted_out_by_customer = False
        return lifted
