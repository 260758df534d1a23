from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.phone import normalize_e164


class SmsNumber(models.Model):
    _name = "sms.number"
    _description = "SMS Sender Number"
    _order = "sequence, id"
    _rec_name = "number"

    number = fields.Char(
        required=True,
        index=True,
        help="The provider's number, in international E.164 format (+ country code and number).",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    account_id = fields.Many2one("sms.account", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    user_ids = fields.Many2many(
        "res.users",
        "sms_number_res_users_rel",
        "number_id",
        "user_id",
        string="Sellers",
        domain=[("share", "=", False)],
        help="Sellers who send from this number and receive its replies.",
    )
    team_id = fields.Many2one("crm.team", string="Sales Team", help="Sales team owning this number.")

    _sql_constraints = [
        ("number_account_unique", "unique(number, account_id)", "This number is already registered on this account."),
    ]

    @api.constrains("number")
    def _check_number(self):
        for number in self:
            if normalize_e164(number.number) != number.number:
                raise ValidationError(
                    _(
                        "%(number)s is not a valid number in international E.164 format "
                        "(a + sign, the country code, then the number, e.g. +14155550123).",
                        number=number.number,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_number_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._normalize_number_vals(vals)
        return super().write(vals)

    @api.model
    def _normalize_number_vals(self, vals):
        if vals.get("number"):
            vals["number"] = normalize_e164(vals["number"]) or vals["number"]

    @api.depends("number", "account_id")
    def _compute_display_name(self):
        for number in self:
            number.display_name = f"{number.number} ({number.account_id.name})" if number.account_id else number.number

    # Business ------------------------------------------------------------

    @api.model
    def _get_by_e164(self, e164, account):
        return self.search([("number", "=", e164), ("account_id", "=", account.id)], limit=1)

    @api.model
    def _get_default_sender(self, remote_number=None, user=None, company=None):
        """Sender number for a message to ``remote_number`` sent by ``user``.

        The last number used with that customer, else a number assigned to the
        seller, else a number of one of the seller's sales teams, else the
        company's first number.
        """
        user = user or self.env.user
        company = company or self.env.company
        domain = [("company_id", "=", company.id), ("account_id.active", "=", True)]
        if remote_number:
            last = self.env["sms.conversation"].search(
                [("remote_number", "=", remote_number), ("number_id.active", "=", True)]
                + [("number_id." + f, op, v) for f, op, v in domain],
                order="last_message_date desc nulls last, id desc",
                limit=1,
            )
            if last:
                return last.number_id
        numbers = self.search(domain)
        return (
            numbers.filtered(lambda n: user in n.user_ids)[:1]
            or numbers.filtered(lambda n: n.team_id and user in (n.team_id.member_ids | n.team_id.user_id))[:1]
            or numbers[:1]
        )
