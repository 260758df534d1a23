from odoo import api, fields, models


class SmsConsent(models.Model):
    """What a customer said about receiving text messages: each opt-out and
    opt-in, with its source. Written by the addon only; kept as evidence."""

    _name = "sms.consent"
    _description = "Text Message Consent"
    _order = "date desc, id desc"
    _rec_name = "number"

    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    number = fields.Char("Customer Number", required=True, index=True, readonly=True, help="E.164")
    action = fields.Selection([("opt_out", "Opted out"), ("opt_in", "Opted in")], required=True, readonly=True)
    source = fields.Selection(
        [("keyword", "Keyword reply"), ("provider", "Provider's opt-out error")],
        required=True,
        readonly=True,
    )
    keyword = fields.Char(readonly=True, help="The keyword the customer sent, as recognized (e.g. STOP, BAIXA).")
    applied = fields.Boolean(
        readonly=True,
        default=True,
        help="Unticked when an opt-in was not applied: the number was blacklisted by hand.",
    )
    note = fields.Char(readonly=True)
    message_id = fields.Many2one("mail.message", string="Source Message", readonly=True, ondelete="set null")
    number_id = fields.Many2one("sms.number", string="Our Number", readonly=True, ondelete="set null")
    conversation_id = fields.Many2one("sms.conversation", readonly=True, index="btree_not_null", ondelete="set null")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    @api.model
    def _record(self, number, action, source, company, keyword=False, conversation=None, message=None, **values):
        """Log one consent change (in sudo: sellers read the log, nobody edits it)."""
        return self.sudo().create(
            {
                "number": number,
                "action": action,
                "source": source,
                "keyword": keyword,
                "company_id": company.id,
                "conversation_id": conversation.id if conversation else False,
                "number_id": conversation.number_id.id if conversation else False,
                "message_id": message.id if message else False,
                **values,
            }
        )
