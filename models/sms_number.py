import time

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.compat import Constraint
from ..tools.phone import normalize_e164


def wall_clock():
    """Seconds since 1970 (UTC), from a clock that frozen test clocks leave running."""
    return time.clock_gettime(time.CLOCK_REALTIME)


class SmsNumber(models.Model):
    _name = "sms.number"
    _description = "SMS Sender Number"
    _order = "sequence, id"
    _rec_name = "number"
    _check_company_auto = True

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
    rate_limit = fields.Float(
        "Messages per Second",
        default=1.0,
        digits=(16, 2),
        help="The most this number may send per second, as the provider allows it: 1 for a US long code, more for "
        "toll-free numbers and short codes. 0: no limit.",
    )
    last_request_time = fields.Float(
        readonly=True,
        copy=False,
        help="When the last request from this number ended (seconds since 1970, UTC): the next one keeps to "
        "the rate limit, whichever batch, run or server sends it.",
    )
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", check_company=True, help="Sales team owning this number."
    )

    _number_account_unique = Constraint(
        "unique(number, account_id)", "This number is already registered on this account."
    )

    @api.constrains("rate_limit")
    def _check_rate_limit(self):
        if any(number.rate_limit < 0 for number in self):
            raise ValidationError(_("The messages per second of a number cannot be negative (0: no limit)."))

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

    @api.constrains("number", "account_id")
    def _check_not_a_sms_twilio_sender(self):
        """A number is served by one of the two: this addon, or Odoo 19's
        own Twilio module (sms_twilio), whose senders are the company's
        Twilio numbers of the SMS settings."""
        if "sms_twilio_number_ids" not in self.env["res.company"]._fields:
            return
        for number in self:
            twilio_numbers = number.company_id.sudo().sms_twilio_number_ids.mapped("number")
            if number.number in {normalize_e164(twilio_number) for twilio_number in twilio_numbers}:
                raise ValidationError(
                    _(
                        "%(number)s already sends the messages of Odoo's own Twilio settings (Settings > SMS > "
                        "Twilio numbers) for %(company)s. A number is served by one of them only: remove it there "
                        "to hold conversations on it here.",
                        number=number.number,
                        company=number.company_id.name,
                    )
                )

    @api.constrains("user_ids", "account_id")
    def _check_user_ids(self):
        for number in self:
            outsiders = number.user_ids.filtered(lambda u, n=number: not u._sms_works_for(n.company_id))
            if outsiders:
                raise ValidationError(
                    _(
                        "%(users)s cannot use %(number)s: they do not work for %(company)s. Give them access to "
                        "that company first.",
                        users=", ".join(outsiders.mapped("name")),
                        number=number.number,
                        company=number.company_id.name,
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
    def _get_active_numbers(self, company):
        """Numbers of ``company`` that can send: active, on an active account;
        those whose provider answers first."""
        numbers = self.sudo().search(
            [("company_id", "=", company.id), ("active", "=", True), ("account_id.active", "=", True)]
        )
        reachable = numbers.filtered(lambda n: not n.account_id.unreachable_since)
        return (reachable + (numbers - reachable)).with_env(self.env)

    def _prefer_reachable(self):
        """``self`` without the numbers whose provider cannot be reached, unless none is left."""
        return self.filtered(lambda n: not n.sudo().account_id.unreachable_since) or self

    @api.model
    def _get_sendable_numbers(self, company, user=None):
        """Numbers ``user`` may send from: theirs and those of the teams they
        belong to or lead; all of the company's for SMS managers; none for
        users without the SMS seller right."""
        user = user or self.env.user
        numbers = self._get_active_numbers(company)
        if user.has_group("crm_sms_conversation.crm_sms_conversation_group_manager"):
            return numbers
        if not user._is_sms_seller():
            return self.browse()
        return numbers.filtered(lambda n: n._is_assigned_to(user, teams_too=True))

    def _is_assigned_to(self, user, teams_too=False):
        self.ensure_one()
        if user in self.sudo().user_ids:
            return True
        team = self.sudo().team_id
        return teams_too and bool(team) and user in (team.member_ids | team.user_id)

    def _get_last_used(self, remote_number):
        """Of ``self``, the number of the latest conversation with ``remote_number``."""
        if not remote_number or not self:
            return self.browse()
        last = (
            self.env["sms.conversation"]
            .sudo()
            .search(
                [("remote_number", "=", remote_number), ("number_id", "in", self.ids)],
                order="last_message_date desc nulls last, id desc",
                limit=1,
            )
        )
        return self.browse(last.number_id.id)

    def _pick_for_user(self, user, remote_number=None):
        """Of ``self``, the number last used with the customer, else one
        assigned to ``user``, else one of ``user``'s teams' (or nothing)."""
        if not user:
            return self.browse()
        mine = self.filtered(lambda n: n._is_assigned_to(user, teams_too=True))
        return mine._get_last_used(remote_number) or mine.filtered(lambda n: n._is_assigned_to(user))[:1] or mine[:1]

    @api.model
    def _get_default_sender(self, remote_number=None, user=None, company=None, record=None):
        """Sender number of a message to ``remote_number`` on ``record`` (a
        contact, lead or opportunity, or None for other models), sent
        by ``user`` (the acting user), chosen with that user's rights:

        1. among the numbers the user may send from: the number last used with
           that customer, else one assigned to the user, else one of the
           user's teams'; managers may use any number, so for them:
        2. (and for users with no number of their own: automations, scheduled
           actions, users without the SMS seller right) the record owner's
           numbers, in the same order, else a number of the record's sales
           team, else the number last used with the customer, else the
           company's first number.

        Numbers whose provider cannot be reached at the moment are left out,
        unless no other number is left.
        """
        user = user or self.env.user
        company = company or self.env.company
        active = self._get_active_numbers(company)
        numbers = active._prefer_reachable()
        sendable = self._get_sendable_numbers(company, user=user)
        if sendable and set(sendable.ids) != set(active.ids):
            sendable = sendable._prefer_reachable()
            return sendable._pick_for_user(user, remote_number) or sendable[:1]
        picked = numbers._pick_for_user(user, remote_number)
        if picked:
            return picked
        if record:  # a contact, lead or opportunity (sms.phone.key.mixin)
            record_sudo = record.sudo()
            team = record_sudo._sms_owner_team()
            picked = (
                numbers._pick_for_user(record_sudo.user_id, remote_number)
                or numbers.filtered(lambda n: team and n.sudo().team_id == team)[:1]
            )
            if picked:
                return picked
        return numbers._get_last_used(remote_number) or numbers[:1]

    def _sms_send_wait(self):
        """Seconds before this number may start its next request."""
        self.ensure_one()
        return max(0.0, self.last_request_time + self._sms_send_interval() - wall_clock())

    def _sms_send_interval(self):
        """Seconds from the end of a request of this number to the start of
        its next one (0: no limit)."""
        self.ensure_one()
        return 1.0 / self.rate_limit if self.rate_limit > 0 else 0.0
