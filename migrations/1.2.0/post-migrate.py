"""From 1.1.0: the blacklist entries the customers made (STOP replies, the
provider's opt-out) are marked as theirs, so that a START reply still lifts
them; the entries added by hand stay."""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    # The addon's opt-outs leave a note on the entry's chatter (in the language of the
    # SMS Gateway, English): "Opted out by replying STOP." or "Opted out at the SMS provider."
    cr.execute(
        """
        UPDATE phone_blacklist AS b SET sms_opted_out_by_customer = true
         WHERE EXISTS (SELECT 1 FROM mail_message m
                        WHERE m.model = 'phone.blacklist' AND m.res_id = b.id
                          AND (m.body::text LIKE '%%Opted out by replying%%'
                               OR m.body::text LIKE '%%Opted out at the SMS provider%%'))
        """
    )
    _logger.info("%s blacklist entries marked as the customers' opt-outs", cr.rowcount)
