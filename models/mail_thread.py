from odoo import models

from ..tools.compat import message_compute_author_kwargs


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _get_message_create_valid_field_names(self):
        # Checked on the message itself: only the addon's own code may set them.
        return super()._get_message_create_valid_field_names() | {"sms_conversation_id", "sms_direction"}

    def _message_compute_author(self, author_id=None, email_from=None, **kwargs):
        """The SMS Gateway (a technical user, without e-mail in a customer's
        database) processes webhooks: what it posts or notifies (a lead's
        assignment, automations' activities and e-mails, notices) never fails
        for lack of a sender address. Its mails leave from the company's
        default sender, or wait in the queue without one."""
        if not self.env.user._is_sms_gateway():
            return super()._message_compute_author(author_id, email_from, **kwargs)
        author_id, email_from = super()._message_compute_author(
            author_id, email_from, **{**kwargs, **message_compute_author_kwargs(raise_on_email=False)}
        )
        return author_id, email_from or self._sms_gateway_email_from()

    def _sms_gateway_email_from(self):
        """Sender address of what the SMS Gateway posts: the company's default
        "from" (alias domain or --email-from), else the company's e-mail."""
        company = self.env.company
        return self.env["ir.mail_server"]._get_default_from_address() or company.email_formatted or False

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
        """Route SMS through the company's SMS account when it has an active one.

        Whoever posts (a seller, an automation, a scheduled action), the SMS
        are then queued (never sent inside the request), given to the account
        with their sender number and conversation, and the queue is woken up.
        Companies without an active account keep Odoo's own SMS service.
        """
        if message.sms_direction == "inbound":
            return True
        company = self._sms_conversation_company()
        account = self.env["sms.account"]._get_sending_account(company)
        if not account:
            return super()._notify_thread_by_sms(
                message, recipients_data, msg_vals=msg_vals, put_in_queue=put_in_queue, **kwargs
            )
        res = super()._notify_thread_by_sms(message, recipients_data, msg_vals=msg_vals, put_in_queue=True, **kwargs)
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id), ("state", "=", "outgoing")])
        if sms:
            sms._sms_conversation_prepare(self, company, account)
            self._sms_conversation_subscribe_author()
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return res

    def _sms_conversation_subscribe_author(self):
        """The user who texts a customer hears of the reply: a follower of the
        record, on either series (Odoo 19 subscribes a message's author for
        comments only, not for text messages)."""
        user = self.env.user
        if self and user.active and not user.share and not user._is_sms_gateway():
            self.sudo()._message_subscribe(partner_ids=user.partner_id.ids)

    def _sms_conversation_company(self):
        """Company whose SMS accounts send the SMS of this record."""
        company = self.company_id if self and "company_id" in self._fields else self.env["res.company"]
        return company[:1] or self.env.company
