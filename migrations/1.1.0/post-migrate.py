"""From 18.0.1.0.0: secrets out of the ORM's reach, the public URL providers
were given, events retried by the new schedule, routing reasons worded on
read, and SMS given to their account."""

import json
import logging
import secrets

from odoo import SUPERUSER_ID, api
from odoo.tools import sql

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    _move_auth_tokens(cr)
    _give_simulators_a_secret(cr)
    env = api.Environment(cr, SUPERUSER_ID, {})
    # The URLs providers were given were built, and verified, from each
    # account's base URL (its company's website domain, else web.base.url): keep them.
    for account in env["sms.account"].with_context(active_test=False).search([]):
        account.webhook_base_url = account.get_base_url()
    cron = env.ref("crm_sms_conversation.ir_cron_sms_event_process", raise_if_not_found=False)
    if cron:
        cron.name = "SMS Conversations: process provider events"
    # Failed events had 5 attempts: the unfinished ones follow the new schedule.
    cr.execute(
        """
        UPDATE sms_event SET state = 'pending', next_attempt_date = now() at time zone 'UTC'
         WHERE state = 'error' AND attempts < 5
        """
    )
    cr.execute(
        """
        UPDATE sms_event e
           SET remote_number = e.payload::json -> 'event' ->> 'from_number',
               serial_key = a.company_id || ':' || (e.payload::json -> 'event' ->> 'from_number')
          FROM sms_account a
         WHERE a.id = e.account_id AND e.kind = 'inbound' AND e.remote_number IS NULL
        """
    )
    if sql.column_exists(cr, "sms_conversation", "routing_reason"):
        cr.execute(
            """
            UPDATE sms_conversation SET routing_data = jsonb_build_object('legacy', routing_reason)
             WHERE routing_reason IS NOT NULL AND routing_data IS NULL
            """
        )
        cr.execute("ALTER TABLE sms_conversation DROP COLUMN routing_reason")
    # SMS and trackers know the account that sends them, or sent them.
    cr.execute(
        """
        UPDATE sms_sms s SET sms_account_id = n.account_id
          FROM sms_number n
         WHERE n.id = s.sms_number_id AND s.sms_account_id IS NULL
        """
    )
    cr.execute(
        """
        UPDATE sms_tracker t SET sms_account_id = s.sms_account_id
          FROM sms_sms s
         WHERE s.uuid = t.sms_uuid AND t.sms_account_id IS NULL AND s.sms_account_id IS NOT NULL
        """
    )
    cr.execute(
        """
        UPDATE sms_tracker t SET sms_account_id = c.account_id
          FROM mail_notification n
          JOIN mail_message m ON m.id = n.mail_message_id
          JOIN sms_conversation c ON c.id = m.sms_conversation_id
         WHERE t.mail_notification_id = n.id AND t.sms_account_id IS NULL AND t.provider_message_id IS NOT NULL
        """
    )


def _move_auth_tokens(cr):
    """Auth Tokens were a plain stored field: move them to provider_secrets and drop the column."""
    if not sql.column_exists(cr, "sms_account", "twilio_auth_token"):
        return
    cr.execute("SELECT id, twilio_auth_token FROM sms_account WHERE twilio_auth_token IS NOT NULL")
    for account_id, token in cr.fetchall():
        cr.execute(
            """
            UPDATE sms_account SET provider_secrets = COALESCE(provider_secrets, '{}'::jsonb) || %s::jsonb
             WHERE id = %s
            """,
            (json.dumps({"twilio_auth_token": token}), account_id),
        )
    cr.execute("ALTER TABLE sms_account DROP COLUMN twilio_auth_token")
    _logger.info("Twilio Auth Tokens moved out of the ORM's fields")


def _give_simulators_a_secret(cr):
    """The Simulator signed with its URL token: it gets a secret of its own."""
    cr.execute(
        """
        SELECT id FROM sms_account
         WHERE provider = 'simulator' AND NOT COALESCE(provider_secrets ? 'simulator_secret', false)
        """
    )
    for (account_id,) in cr.fetchall():
        cr.execute(
            """
            UPDATE sms_account SET provider_secrets = COALESCE(provider_secrets, '{}'::jsonb) || %s::jsonb
             WHERE id = %s
            """,
            (json.dumps({"simulator_secret": secrets.token_urlsafe(32)}), account_id),
        )
