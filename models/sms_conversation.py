import logging

import psycopg2

from odoo import _, api, fields, models, tools

_logger = logging.getLogger(__name__)

# Replies by which customers opt out of (or back in to) text messages.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})

# Models a conversation can be linked to, in the order of routing rule 4 for
# the types they hold (see ``_routing_record_type_rank``).
CONVERSATION_MODELS = ("res.partner", "crm.lead")

ROUTING_RULES = [
    ("existing", "Existing conversation"),
    ("single", "Single candidate"),
    ("rule_1", "Rule 1: most recent conversation"),
    ("rule_2", "Rule 2: owner assigned to the number"),
    ("rule_3", "Rule 3: owner in the number's team"),
    ("rule_4", "Rule 4: record type"),
    ("rule_5", "Rule 5: active record"),
    ("rule_6", "Rule 6: most recently updated"),
    ("new_lead", "Unknown number: new lead"),
    ("manual", "Set by a user"),
]


class SmsConversation(models.Model):
    _name = "sms.conversation"
    _description = "SMS Conversation"
    _order = "last_message_date desc nulls last, id desc"

    name = fields.Char(compute="_compute_name")
    number_id = fields.Many2one("sms.number", string="Our Number", required=True, ondelete="restrict", index=True)
    account_id = fields.Many2one(related="number_id.account_id", store=True)
    account_provider = fields.Selection(related="number_id.account_id.provider")
    company_id = fields.Many2one(related="number_id.company_id", store=True, index=True)
    remote_number = fields.Char("Customer Number", required=True, index=True, help="Customer's number in E.164.")
    res_model = fields.Selection(
        [("res.partner", "Contact"), ("crm.lead", "Lead/Opportunity")],
        string="Record Model",
        required=True,
    )
    res_id = fields.Many2oneReference("Record ID", model_field="res_model", required=True, index=True)
    record_name = fields.Char("Record", compute="_compute_name")
    user_id = fields.Many2one(
        "res.users", string="Owner", compute="_compute_owner", store=True, index=True, readonly=False
    )
    team_id = fields.Many2one("crm.team", string="Sales Team", compute="_compute_owner", store=True, readonly=False)
    last_message_date = fields.Datetime(readonly=True, index=True)
    message_ids = fields.One2many("mail.message", "sms_conversation_id", string="Messages")
    routing_rule = fields.Selection(ROUTING_RULES, readonly=True)
    routing_reason = fields.Char(readonly=True, help="Why the last inbound message landed on this record.")

    _sql_constraints = [
        (
            "conversation_unique",
            "unique(number_id, remote_number, res_model, res_id)",
            "A conversation already links this number and customer number to this record.",
        ),
    ]

    @api.depends("res_model", "res_id", "remote_number")
    def _compute_name(self):
        for conversation in self:
            record = conversation._get_record()
            conversation.record_name = record.display_name if record else False
            conversation.name = (
                f"{record.display_name} ({conversation.remote_number})" if record else conversation.remote_number
            )

    @api.depends("res_model", "res_id")
    def _compute_owner(self):
        for conversation in self:
            record = conversation._get_record()
            conversation.user_id = record.user_id if record else False
            conversation.team_id = record._sms_owner_team() if record else False

    # Actions -------------------------------------------------------------

    def action_open_record(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }

    # Business ------------------------------------------------------------

    def _get_record(self):
        """The linked record (archived included), or None when it is gone."""
        self.ensure_one()
        if not self.res_model or not self.res_id:
            return None
        record = self.env[self.res_model].with_context(active_test=False).browse(self.res_id).exists()
        return record or None

    @api.model
    def _get_or_create(self, number, remote_number, record):
        """The conversation of ``number`` with ``remote_number`` on ``record``.

        Safe under concurrency: a concurrent insert of the same conversation
        is caught by the unique constraint and the existing row returned.
        """
        domain = [
            ("number_id", "=", number.id),
            ("remote_number", "=", remote_number),
            ("res_model", "=", record._name),
            ("res_id", "=", record.id),
        ]
        conversation = self.search(domain, limit=1)
        if conversation:
            return conversation
        try:
            with self.env.cr.savepoint(), tools.mute_logger("odoo.sql_db"):
                return self.create(
                    {
                        "number_id": number.id,
                        "remote_number": remote_number,
                        "res_model": record._name,
                        "res_id": record.id,
                    }
                )
        except psycopg2.IntegrityError:
            return self.search(domain, limit=1)

    def _touch(self, date=None):
        self.write({"last_message_date": date or fields.Datetime.now()})

    # Routing -------------------------------------------------------------

    @api.model
    def _route_inbound(self, number, remote_number):
        """Pick the conversation an inbound message from ``remote_number`` to
        ``number`` belongs to, creating it (and a lead) when needed.

        Returns the conversation; its ``routing_rule``/``routing_reason`` say
        which rule decided.
        """
        candidates = self._routing_candidates(number, remote_number)
        if not candidates:
            record = self._routing_create_lead(number, remote_number)
            rule, reason = "new_lead", _("No contact, company, lead or opportunity has %s: new lead.", remote_number)
        elif len(candidates) == 1:
            record = candidates[0]
            rule, reason = (
                "single",
                _("Only %(record)s has %(number)s.", record=record.display_name, number=remote_number),
            )
        else:
            record, rule, reason = self._routing_decide(candidates, number, remote_number)
        conversation = self._get_or_create(number, remote_number, record)
        conversation.write({"routing_rule": rule, "routing_reason": reason})
        return conversation

    @api.model
    def _routing_candidates(self, number, remote_number):
        """Records holding ``remote_number`` (archived included), and records
        a conversation with it was moved to, in the number's company."""
        company_ids = [False, number.company_id.id]
        records = []
        for model in CONVERSATION_MODELS:
            Model = self.env[model].with_context(active_test=False)
            records += list(
                Model.search(
                    [*Model._sms_phone_key_domain(remote_number), ("company_id", "in", company_ids)],
                    order="id",
                )
            )
        linked = self.search([("remote_number", "=", remote_number), ("company_id", "=", number.company_id.id)])
        for conversation in linked:
            record = conversation._get_record()
            if record and record not in records:
                records.append(record)
        return records

    @api.model
    def _routing_decide(self, candidates, number, remote_number):
        """Order ``candidates`` by the routing rules; return the winner, the
        rule that decided against the runner-up, and the reason in words."""
        last_dates = self._routing_last_conversation_dates(candidates, remote_number, number.company_id)
        team_users = number.team_id.member_ids | number.team_id.user_id
        keyed = sorted(
            ((self._routing_sort_key(r, number, team_users, last_dates), r) for r in candidates),
            key=lambda pair: pair[0],
        )
        (winner_key, winner), (runner_key, runner) = keyed[0], keyed[1]
        rule_index = next((i for i, (a, b) in enumerate(zip(winner_key, runner_key, strict=True)) if a != b), 5)
        rule_index = min(rule_index, 5)  # the final id tie-breaker belongs to rule 6
        rule = f"rule_{rule_index + 1}"
        reason = self._routing_reason_text(rule, winner, runner, number)
        return winner, rule, reason

    @api.model
    def _routing_last_conversation_dates(self, candidates, remote_number, company):
        conversations = self.search(
            [
                ("remote_number", "=", remote_number),
                ("company_id", "=", company.id),
                ("last_message_date", "!=", False),
            ]
        )
        dates = {}
        for conversation in conversations:
            key = (conversation.res_model, conversation.res_id)
            dates[key] = max(dates.get(key, conversation.last_message_date), conversation.last_message_date)
        return dates

    @api.model
    def _routing_sort_key(self, record, number, team_users, last_dates):
        """Ascending sort key: each position is one routing rule, in order."""
        last_date = last_dates.get((record._name, record.id))
        owner = record.user_id
        return (
            -(last_date.timestamp() if last_date else 0.0),  # rule 1
            not (owner and owner in number.user_ids),  # rule 2
            not (owner and owner in team_users),  # rule 3
            record._sms_routing_type_rank(),  # rule 4
            not record._sms_routing_is_active(),  # rule 5
            -(record.write_date.timestamp() if record.write_date else 0.0),  # rule 6
            -record.id,  # final tie-breaker, reported as rule 6
        )

    @api.model
    def _routing_reason_text(self, rule, winner, runner, number):
        texts = {
            "rule_1": _("%(winner)s has the most recent conversation with this number (before %(runner)s)."),
            "rule_2": _("%(winner)s is owned by a seller assigned to %(number)s (%(runner)s is not)."),
            "rule_3": _("%(winner)s is owned by a member of %(team)s, the team owning %(number)s (%(runner)s is not)."),
            "rule_4": _(
                "%(winner)s comes first by record type (contact, company, opportunity, lead) before %(runner)s."
            ),
            "rule_5": _("%(winner)s is active, %(runner)s is archived, won or lost."),
            "rule_6": _("%(winner)s was updated more recently than %(runner)s."),
        }
        return texts[rule] % {
            "winner": winner._sms_routing_label(),
            "runner": runner._sms_routing_label(),
            "number": number.number,
            "team": number.team_id.display_name or "",
        }

    @api.model
    def _routing_create_lead(self, number, remote_number):
        lead_values = self._routing_prepare_lead_values(number, remote_number)
        return self.env["crm.lead"].with_context(mail_create_nosubscribe=True).create(lead_values)

    @api.model
    def _routing_prepare_lead_values(self, number, remote_number):
        seller = number.user_ids if len(number.user_ids) == 1 else self.env["res.users"]
        lead_type_user = seller or number.team_id.user_id
        uses_leads = bool(lead_type_user) and lead_type_user.has_group("crm.group_use_lead")
        return {
            "name": _("SMS from %s", remote_number),
            "phone": remote_number,
            "type": "lead" if uses_leads else "opportunity",
            "team_id": number.team_id.id or False,
            # Set explicitly: the default would be the current (public) user.
            "user_id": seller.id or False,
            "company_id": number.company_id.id,
        }

    @api.model
    def _sync_owner(self, records):
        """Follow owner and team changes of linked records."""
        conversations = self.sudo().search([("res_model", "=", records._name), ("res_id", "in", records.ids)])
        for fname in ("user_id", "team_id"):
            self.env.add_to_compute(self._fields[fname], conversations)

    # Messages ------------------------------------------------------------

    def _post_inbound(self, inbound):
        """Post the customer's message on the linked record's chatter."""
        self.ensure_one()
        record = self._get_record()
        body = inbound.body
        if inbound.num_media:
            body = _("%(body)s\n[%(count)s attachment(s) not shown]", body=body, count=inbound.num_media).strip()
        author = record._sms_routing_author(self.remote_number)
        message = record.with_context(mail_create_nosubscribe=True, mail_notify_force_send=False).message_post(
            body=body,
            message_type="sms",
            subtype_xmlid="mail.mt_note",
            author_id=author.id or False,
            email_from=author.email_formatted if author else self.remote_number,
            partner_ids=self._get_inbound_recipients().partner_id.ids,
            sms_conversation_id=self.id,
            sms_direction="inbound",
        )
        self._touch(message.date)
        return message

    def _get_inbound_recipients(self):
        """Users told of an inbound message: the record's owner, else the
        number's sellers, else its team's leader, else that team's members."""
        self.ensure_one()
        team = self.number_id.team_id
        return self.user_id or self.number_id.user_ids or team.user_id or team.member_ids

    def _notify_inbound(self, message):
        """Tell the recipients' open web clients, on their own bus channel."""
        self.ensure_one()
        payload = {
            "conversation_id": self.id,
            "message_id": message.id,
            "res_model": self.res_model,
            "res_id": self.res_id,
            "remote_number": self.remote_number,
        }
        for user in self._get_inbound_recipients():
            user.partner_id._bus_send("crm_sms_conversation/inbound", payload)

    def _apply_opt_keywords(self, body):
        """STOP-like replies blacklist the customer's number, START-like ones lift it."""
        self.ensure_one()
        keyword = (body or "").strip().upper()
        blacklist = self.env["phone.blacklist"].sudo()
        if keyword in OPT_OUT_KEYWORDS:
            blacklist._add([self.remote_number], message=_("Opted out by replying %s.", keyword))
        elif keyword in OPT_IN_KEYWORDS and blacklist.search_count([("number", "=", self.remote_number)]):
            blacklist._remove([self.remote_number], message=_("Opted in again by replying %s.", keyword))
