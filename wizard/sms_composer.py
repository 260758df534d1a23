from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.phone import normalize_e164

SELLER_GROUP = "crm_sms_conversation.crm_sms_conversation_group_seller"


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    # Sellers only: other users send without choosing (and may not read SMS numbers).
    sms_allowed_number_ids = fields.Many2many(
        "sms.number", string="Allowed Sender Numbers", compute="_compute_sms_allowed_number_ids", groups=SELLER_GROUP
    )
    sms_number_count = fields.Integer(compute="_compute_sms_allowed_number_ids", groups=SELLER_GROUP)
    sms_number_id = fields.Many2one(
        "sms.number",
        string="From",
        groups=SELLER_GROUP,
        compute="_compute_sms_number_id",
        readonly=False,
        store=True,
        domain="[('id', 'in', sms_allowed_number_ids)]",
        help="Our number the message is sent from. By default the last number used with this customer, "
        "else one assigned to you, else one of your sales teams'.",
    )

    sms_quiet_hours_notice = fields.Char("Quiet Hours", compute="_compute_sms_quiet_hours_notice", groups=SELLER_GROUP)

    @api.depends("res_model", "res_id", "composition_mode")
    def _compute_sms_allowed_number_ids(self):
        """Numbers the user may send from: theirs and their teams' (all of the company for SMS managers)."""
        for composer in self:
            company = composer._sms_conversation_company()
            numbers = self.env["sms.number"]._get_sendable_numbers(company) if company else self.env["sms.number"]
            composer.sms_allowed_number_ids = numbers
            composer.sms_number_count = len(numbers)

    @api.depends("sms_allowed_number_ids", "recipient_single_number_itf", "recipient_single_number")
    def _compute_sms_number_id(self):
        Number = self.env["sms.number"]
        for composer in self:
            allowed = composer.sms_allowed_number_ids
            if not allowed:
                composer.sms_number_id = False
                continue
            record = composer._get_records()
            if len(record) > 1:
                # Several records (a list's selection, a server action): each text leaves from the
                # number a text to its own customer takes, unless the user picks one for them all.
                composer.sms_number_id = False
                continue
            is_conversation_record = len(record) == 1 and isinstance(record, self.pool["sms.phone.key.mixin"])
            default = Number._get_default_sender(
                remote_number=composer._sms_remote_e164() or None,
                company=composer._sms_conversation_company(),
                record=record if is_conversation_record else None,
            )
            composer.sms_number_id = default if default in allowed else allowed[:1]

    @api.depends("sms_number_id", "recipient_single_number_itf", "recipient_single_number")
    def _compute_sms_quiet_hours_notice(self):
        for composer in self:
            number = composer.sms_number_id
            remote = composer._sms_remote_e164() if number and composer.composition_mode == "comment" else False
            notice = number.account_id._quiet_hours_notice(remote, number.number) if remote else False
            composer.sms_quiet_hours_notice = notice and _(
                "%(notice)s Send: the text waits until then. Send Now: it leaves at once.", notice=notice["message"]
            )

    def _sms_remote_e164(self):
        """The single recipient's number in E.164, read in the record's country."""
        self.ensure_one()
        number = self.recipient_single_number_itf or self.recipient_single_number
        if not number:
            return False
        record = self._get_records()
        company = self._sms_conversation_company()
        region = company.country_id.code if company else False
        if len(record) == 1 and isinstance(record, self.pool["sms.phone.key.mixin"]):
            region = record._sms_phone_region()
        return normalize_e164(number, region) or False

    def _sms_conversation_company(self):
        """Company of the record an SMS is written on (comment mode only), else False."""
        self.ensure_one()
        if self.composition_mode != "comment" or not self.res_model:
            return False
        record = self._get_records()
        if not record or not isinstance(record, self.pool["mail.thread"]):
            return False
        return record[:1]._sms_conversation_company()

    def action_send_sms_quiet_hours_now(self):
        """Send during the customer's quiet hours: the seller confirmed it."""
        return self.with_context(sms_conversation_quiet_hours_confirmed=True).action_send_sms()

    def _prepare_mass_sms_values(self, records):
        """Mass SMS of a company with an SMS account go through it (and its
        queue, blacklist and quiet hours), each from the number a text to that
        customer would take."""
        result = super()._prepare_mass_sms_values(records)
        if not isinstance(records, self.pool["mail.thread"]):
            return result
        Account, Number = self.env["sms.account"], self.env["sms.number"]
        for record in records:
            values = result[record.id]
            company = record._sms_conversation_company()
            account = Account._get_sending_account(company)
            if values["state"] != "outgoing" or not account:
                continue
            in_conversation = isinstance(record, self.pool["sms.phone.key.mixin"])
            number = Number._get_default_sender(
                remote_number=values["number"], company=company, record=record if in_conversation else None
            )
            values.update(sms_account_id=number.account_id.id or account.id, sms_number_id=number.id)
        return result

    def _action_send_sms(self):
        # sudo: the fields are the sellers' (Odoo 19 checks field groups on every read); the
        # numbers are still those of the current user.
        composer_sudo = self.sudo()
        if number := composer_sudo.sms_number_id:
            if number not in composer_sudo.sms_allowed_number_ids:
                raise UserError(_("You may only send from your numbers or your teams' numbers."))
            self = self.with_context(sms_conversation_number_id=number.id)
        return super()._action_send_sms()
