from odoo import models


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _get_message_create_valid_field_names(self):
        return super()._get_message_create_valid_field_names() | {"sms_conversation_id", "sms_direction"}

    def _notify_get_recipients(self, message, msg_vals=False, **kwargs):
        """A customer's inbound SMS only reaches internal users, in their Inbox.

        Customers may follow their own record: without this, Odoo would send
        them their own message back by SMS or e-mail.
        """
        recipients = super()._notify_get_recipients(message, msg_vals=msg_vals, **kwargs)
        direction = (msg_vals or {}).get("sms_direction") or message.sms_direction
        if direction != "inbound":
            return recipients
        internal = [data for data in recipients if data["type"] == "user" and not data["share"] and data["active"]]
        for data in internal:
            data["notif"] = "inbox"
        return internal

    def _notify_thread_by_sms(self, message, recipients_data, msg_vals=False, put_in_queue=False, **kwargs):
        """Route SMS through the company's SMS account when it has one.

        The SMS are queued (never sent inside the user's request), linked to
        their sender number and conversation, and the queue is woken up.
        """
        if message.sms_direction == "inbound":
            return True
        company = self._sms_conversation_company()
        # Only SMS sellers send through the SMS accounts; others keep Odoo's own SMS service.
        if not self.env.user._is_sms_seller() or not self.env["sms.account"].sudo().search_count(
            [("company_id", "=", company.id)], limit=1
        ):
            return super()._notify_thread_by_sms(
                message, recipients_data, msg_vals=msg_vals, put_in_queue=put_in_queue, **kwargs
            )
        res = super()._notify_thread_by_sms(message, recipients_data, msg_vals=msg_vals, put_in_queue=True, **kwargs)
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id), ("state", "=", "outgoing")])
        if sms:
            sms._sms_conversation_prepare(self, company)
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return res

    def _sms_conversation_company(self):
        """Company whose SMS accounts send the SMS of this record."""
        company = self.company_id if self and "company_id" in self._fields else self.env["res.company"]
        return company[:1] or self.env.company
