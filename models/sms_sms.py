import dataclasses
import functools
import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.compat import cron_progress, domain_and
from ..tools.phone import normalize_e164
from ..tools.sms_provider import LOOKUP_CLOCK_SLACK, OutgoingSms, SendResult
from .sms_conversation import CONVERSATION_MODELS
from .sms_event import in_test_mode
from .sms_number import wall_clock

_logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5
# Failures found by Odoo itself, before or instead of any provider request.
LOCAL_ERRORS = frozenset({"blacklist", "missing", "no_sender", "account_archived", "internal"})
RETRY_BASE_DELAY = 30  # seconds, doubled at each attempt
# Seconds one run of the queue starts requests before leaving the rest to a new
# run (see sms_event.CRON_TIME_BUDGET).
QUEUE_TIME_BUDGET = 10


def _clock():
    """Seconds of a monotonic clock that frozen test clocks leave running."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class SmsSms(models.Model):
    _inherit = "sms.sms"

    sms_account_id = fields.Many2one(
        "sms.account",
        string="SMS Account",
        index="btree_not_null",
        help="The company's SMS account sending this message (instead of Odoo's IAP service).",
    )
    sms_number_id = fields.Many2one("sms.number", string="Sender Number", index="btree_not_null")
    sms_conversation_id = fields.Many2one("sms.conversation", string="Conversation", index="btree_not_null")
    sms_attempt_count = fields.Integer("Send Attempts", default=0, readonly=True)
    sms_first_attempt_date = fields.Datetime(readonly=True)
    sms_next_attempt_date = fields.Datetime(
        "Next Attempt", readonly=True, help="Set after a temporary failure: the message is sent again then."
    )
    sms_auto_reply = fields.Selection(
        [("stop", "Opt-out confirmation"), ("help", "Help answer")],
        string="Automatic Answer",
        readonly=True,
        help="Sent by the account itself, not by a seller. The opt-out confirmation reaches the blacklisted number.",
    )
    sms_quiet_hours_confirmed = fields.Boolean(
        "Sent During Quiet Hours",
        readonly=True,
        help="A seller confirmed sending this message during the customer's quiet hours.",
    )
    sms_quiet_hours_deferred = fields.Boolean(
        "Waiting for Quiet Hours to End",
        readonly=True,
        help="Sent at the next attempt date, when the customer's quiet hours are over.",
    )
    sms_outcome_unknown = fields.Boolean(
        readonly=True,
        help="The last attempt timed out after reaching the provider: look the message up before resending.",
    )

    # Queue -------------------------------------------------------------

    def resend_failed(self):
        """A resend by a user starts a new series of attempts."""
        self.filtered(lambda sms: sms.state == "error").write({"sms_attempt_count": 0, "sms_next_attempt_date": False})
        return super().resend_failed()

    @api.model
    def _process_queue(self, *args, **kwargs):
        """The queue is the only place where our SMS reach the provider. A
        run starts requests for ``QUEUE_TIME_BUDGET`` seconds, then asks for a
        new run for the rest (as the processing cron of provider events
        does): a long queue (a campaign of thousands of texts, numbers
        sending one a second) never keeps the cron worker past its time
        limit."""
        deadline = _clock() + QUEUE_TIME_BUDGET
        queue = self.with_context(sms_conversation_queue=True, sms_conversation_queue_deadline=deadline)
        result = super(SmsSms, queue)._process_queue(*args, **kwargs)
        if _clock() >= deadline and queue.search_count(
            [("state", "=", "outgoing"), ("to_delete", "!=", True), ("sms_account_id", "!=", False)], limit=1
        ):
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return result

    @api.model
    def search_fetch(self, domain, field_names, offset=0, limit=None, order=None):
        return super().search_fetch(
            self._sms_queue_domain(domain), field_names, offset=offset, limit=limit, order=order
        )

    @api.model
    def search_count(self, domain, limit=None):
        return super().search_count(self._sms_queue_domain(domain), limit=limit)

    @api.model
    def _sms_queue_domain(self, domain):
        """The queue takes due messages only: those waiting for a retry
        neither leave early nor fill the queue's batch (Odoo 19 takes its
        first ``batch_size`` messages by id), ahead of due ones. Searches
        only: reading a message waiting for a retry stays allowed."""
        if not self.env.context.get("sms_conversation_queue"):
            return domain
        now = fields.Datetime.now()
        return domain_and(domain, ["|", ("sms_next_attempt_date", "=", False), ("sms_next_attempt_date", "<=", now)])

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Send through our SMS accounts the SMS given to one, the others
        through Odoo's IAP. Outside the queue (e.g. a resend from a user's
        request), ours wait for the queue, which is woken up."""
        ours = self.filtered("sms_account_id")
        if others := self - ours:
            super(SmsSms, others)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        if not ours:
            return None
        if not self.env.context.get("sms_conversation_queue"):
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
            return None
        # Read before sending: sent messages are deleted, and Odoo 19 empties the cache at each commit.
        message_of = {sms.id: sms.mail_message_id.id for sms in ours}
        before = ours._sms_queue_snapshot()
        for account, batch in ours.grouped("sms_account_id").items():
            batch._send_with_account(account, unlink_failed=unlink_failed, unlink_sent=unlink_sent)
        # Only the messages whose SMS changed: a run whose time was up left the others untouched.
        after = ours._sms_queue_snapshot()
        changed = {message_of[sms_id] for sms_id, state in before.items() if after.get(sms_id) != state}
        self.env["mail.message"].browse(changed - {False})._notify_message_notification_update()
        return None

    def _sms_queue_snapshot(self):
        """What a queue run may change of each SMS still in the database, by
        id (read there: the cache may hold SMS deleted since)."""
        if not self:
            return {}
        self.flush_recordset(["state", "sms_attempt_count", "sms_next_attempt_date"])
        self.env.cr.execute(
            SQL(
                "SELECT id, state, sms_attempt_count, sms_next_attempt_date FROM sms_sms WHERE id IN %s",
                tuple(self.ids),
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    # Preparation -------------------------------------------------------

    def _sms_conversation_prepare(self, record, company, account):
        """Give SMS just posted on ``record`` to ``account``, with their sender
        number and conversation. A number forced by the composer or the pane
        is kept only if the acting user may send from it."""
        Number = self.env["sms.number"]
        forced_number = Number.browse(self.env.context.get("sms_conversation_number_id")).exists()
        if forced_number and forced_number not in Number._get_sendable_numbers(company):
            forced_number = Number
        in_conversation = record._name in CONVERSATION_MODELS
        region = record._sms_phone_region() if in_conversation else company.country_id.code
        for sms in self:
            remote = normalize_e164(sms.number, region) or sms.number
            number = forced_number or Number._get_default_sender(
                remote_number=remote, company=company, record=record if in_conversation else None
            )
            values = {
                "sms_account_id": number.account_id.id or account.id,
                "sms_number_id": number.id,
                "number": remote,
                # Only the SMS Gateway answers automatically: nobody else may pass the blacklist.
                "sms_auto_reply": (
                    self.env.user._is_sms_gateway() and self.env.context.get("sms_conversation_auto_reply")
                )
                or False,
                "sms_quiet_hours_confirmed": len(self) == 1 and self._sms_quiet_hours_confirmed_by_seller(),
            }
            # During quiet hours, said at once in the chatter and the pane, not only when the queue comes to it.
            if (
                number
                and not values["sms_auto_reply"]
                and not values["sms_quiet_hours_confirmed"]
                and (until := number.account_id._quiet_hours_until(remote, number.number))
            ):
                values.update(sms_next_attempt_date=until, sms_quiet_hours_deferred=True)
                self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=until)
            if number and in_conversation:
                conversation = self.env["sms.conversation"].sudo()._get_or_create(number, remote, record)
                conversation._touch(preview=sms.body or "", outbound=True)
                values["sms_conversation_id"] = conversation.id
                sms.mail_message_id.sudo().write({"sms_conversation_id": conversation.id, "sms_direction": "outbound"})
            sms.write(values)

    def _sms_quiet_hours_confirmed_by_seller(self):
        """Whether the acting user is a seller who confirmed sending during the
        customer's quiet hours (the pane's or the composer's confirmation).
        Automations, OdooBot and the SMS Gateway never confirm."""
        user = self.env.user
        return bool(
            self.env.context.get("sms_conversation_quiet_hours_confirmed")
            and not user._is_superuser()
            and not user._is_sms_gateway()
            and user._is_internal()
        )

    # Sending -----------------------------------------------------------

    def _send_with_account(self, account, unlink_failed=False, unlink_sent=True):
        """One provider request per SMS, several at once: each sender number
        sends its messages in order, one at a time and never faster than its
        rate limit, while the other numbers send theirs. From the cron, each
        SMS is marked in flight and committed before its request, and its
        outcome committed as soon as it comes: a crash in between leads to a
        look-up, not a resend. One message's unexpected failure neither stops
        nor undoes the others."""
        commit = not in_test_mode()
        api = account._get_provider_api()
        blacklisted = self.env["phone.blacklist"]._sms_blacklisted(self.mapped("number"))
        to_send = []
        for sms in self:
            outgoing = sms._sms_isolated(
                account,
                api,
                unlink_failed,
                unlink_sent,
                lambda sms=sms: sms._send_with_account_check(account, api, blacklisted, unlink_failed, unlink_sent),
            )
            if outgoing:
                to_send.append((sms, outgoing))
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        if to_send:
            self._send_requests(account, api, to_send, commit, unlink_failed, unlink_sent)

    def _sms_isolated(self, account, api, unlink_failed, unlink_sent, step):
        """Run ``step`` for this SMS alone, in a savepoint: an unexpected
        error fails this SMS only (retried later) and undoes nothing else."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                return step()
        except Exception as exc:  # noqa: BLE001 - isolated: the others are still sent
            self._send_failed_unexpectedly(account, api, exc, unlink_failed, unlink_sent)
        return None

    def _send_failed_unexpectedly(self, account, api, exc, unlink_failed, unlink_sent):
        """An error of ours (not the provider's answer) while sending: the
        message is retried later, looked up first if its request may have
        gone out; the rest of the batch goes on."""
        self.ensure_one()
        _logger.warning("SMS %s could not be sent through %s: %s", self.id, account.name, exc, exc_info=True)
        try:
            with self.env.cr.savepoint():
                self._apply_send_result(
                    api,
                    account,
                    None,
                    SendResult("retry", error_code="internal", error_message=str(exc)),
                    self.sms_outcome_unknown,
                    unlink_failed,
                    unlink_sent,
                )
        except Exception:
            _logger.exception("SMS %s: its failure could not be recorded either", self.id)

    def _send_with_account_check(self, account, api, blacklisted, unlink_failed, unlink_sent):
        """Refuse, defer or prepare the request of one SMS: returns the
        ``OutgoingSms`` to send, or None when settled without a request."""
        self.ensure_one()
        outgoing = OutgoingSms(
            to_number=normalize_e164(self.number) or "",
            from_number=self.sms_number_id.number or "",
            body=self.body or "",
            status_callback=account._get_status_callback_url(self.uuid),
            idempotency_key=self.uuid,
        )
        if not account.active:
            result = SendResult("error", error_code="account_archived")
        elif not self.sms_number_id or not self.sms_number_id.active or self.sms_number_id.account_id != account:
            result = SendResult("error", error_code="no_sender")
        elif (self.number in blacklisted or outgoing.to_number in blacklisted) and self.sms_auto_reply != "stop":
            result = SendResult("error", error_code="blacklist")
        elif not outgoing.to_number:
            result = SendResult("error", error_code="missing")
        elif quiet_until := self._sms_quiet_hours_until(account, outgoing):
            self._sms_defer_for_quiet_hours(quiet_until)
            return None
        else:
            return outgoing
        self._apply_send_result(api, account, outgoing, result, self.sms_outcome_unknown, unlink_failed, unlink_sent)
        return None

    def _send_requests(self, account, api, to_send, commit, unlink_failed, unlink_sent):
        """Send the prepared ``(sms, outgoing)`` pairs. The requests run in
        threads, which never touch the database. Each round marks the
        messages it starts in flight (one commit before their requests), then
        applies the outcomes that came (one commit right after them)."""
        limit = max(1, self._sms_send_concurrency())
        queues = {}
        for sms, outgoing in to_send:
            queues.setdefault(sms.sms_number_id, deque()).append((sms, outgoing))
        intervals = {number: number._sms_send_interval() for number in queues}
        # Where an earlier batch, run or server left each number.
        start_clock = _clock()
        next_start = {number: start_clock + number._sms_send_wait() for number in queues}
        # One provider client (and HTTP session) per number: a session is not shared between threads.
        apis = {number: type(api)(api.config) for number in queues}
        deadline = self.env.context.get("sms_conversation_queue_deadline")
        in_flight = {}
        sent = 0
        with ThreadPoolExecutor(max_workers=min(limit, len(queues)), thread_name_prefix="sms_send") as pool:
            while queues or in_flight:
                if queues and sent and deadline and _clock() >= deadline:
                    # The run's time is up: the rest, untouched, waits for a new run. Each run
                    # sends one message at least, however long it took to come here.
                    queues.clear()
                now = _clock()
                busy = {entry[2] for entry in in_flight.values()}
                starting = []
                for number in list(queues):
                    if len(in_flight) + len(starting) >= limit:
                        break
                    if number not in busy and next_start[number] <= now:
                        starting.append((number, *queues[number].popleft()))
                        if not queues[number]:
                            del queues[number]
                if starting:
                    # Whether an earlier attempt may have reached the provider, read before this one is marked.
                    unknown = {sms.id: sms.sms_outcome_unknown for _number, sms, _outgoing in starting}
                    for number, _sms, _outgoing in starting:
                        number.sudo().last_request_time = wall_clock()
                    since = self.browse(list(unknown))._sms_mark_in_flight(commit)
                    sent += len(starting)
                    for number, sms, outgoing in starting:
                        # Until its request has ended, the number waits.
                        next_start[number] = float("inf")
                        if unknown[sms.id] and not api.supports_idempotency:
                            outgoing = dataclasses.replace(
                                outgoing, known_ids=sms._sms_known_provider_ids(account, since[sms.id])
                            )
                        args = (apis[number], sms.id, outgoing, unknown[sms.id], since[sms.id])
                        in_flight[pool.submit(self._send_one, *args)] = (sms, outgoing, number, unknown[sms.id])
                busy = {entry[2] for entry in in_flight.values()}
                startable = [next_start[number] - now for number in queues if number not in busy]
                timeout = max(0.0, min(startable)) if startable and len(in_flight) < limit else None
                done, _running = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    sms, outgoing, number, needs_lookup = in_flight.pop(future)
                    # From the end of a request: its start on the provider's side came before it, whatever
                    # delayed the sending thread, so no two requests of a number arrive closer than the interval.
                    ended = _clock()
                    next_start[number] = ended + intervals[number]
                    number.sudo().last_request_time = wall_clock()
                    sms._sms_isolated(
                        account,
                        api,
                        unlink_failed,
                        unlink_sent,
                        functools.partial(
                            sms._apply_send_result_of,
                            future,
                            api,
                            account,
                            outgoing,
                            needs_lookup,
                            unlink_failed,
                            unlink_sent,
                        ),
                    )
                if done and commit:
                    # The providers' answers are kept, as the run's progress: a run killed later
                    # is not taken by Odoo for a hung one.
                    cron_progress(self.env, len(done))

    def _apply_send_result_of(self, future, api, account, outgoing, needs_lookup, unlink_failed, unlink_sent):
        """Apply the outcome of a finished request (its error is this SMS's failure)."""
        self._apply_send_result(api, account, outgoing, future.result(), needs_lookup, unlink_failed, unlink_sent)

    def _sms_mark_in_flight(self, commit):
        """Record the attempts before their requests (committed from the
        cron); returns {sms id: date of its first attempt}, for look-ups."""
        now = fields.Datetime.now()
        since = {sms.id: sms.sms_first_attempt_date or now for sms in self}
        if commit:
            self.filtered(lambda sms: not sms.sms_first_attempt_date).write({"sms_first_attempt_date": now})
            self.write({"sms_outcome_unknown": True})
            self.env.cr.commit()  # pylint: disable=invalid-commit
        return since

    def _sms_known_provider_ids(self, account, since):
        """The provider's ids of the account's other messages sent since
        ``since`` (a look-up of this one must not take one of them for it)."""
        self.ensure_one()
        self.env["sms.tracker"].flush_model(["provider_message_id", "sms_account_id"])
        self.env.cr.execute(
            """
            SELECT provider_message_id FROM sms_tracker
             WHERE sms_account_id = %s AND provider_message_id IS NOT NULL
               AND write_date >= %s AND sms_uuid != %s
            """,
            (account.id, since - LOOKUP_CLOCK_SLACK, self.uuid),
        )
        return frozenset(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _sms_send_concurrency(self):
        """How many provider requests of one account run at once (setting, 16 by default)."""
        value = self.env["ir.config_parameter"].sudo().get_param("crm_sms_conversation.send_concurrency", "16")
        return int(value) if str(value).isdecimal() else 16

    def _sms_quiet_hours_until(self, account, outgoing):
        """End of the customer's quiet hours when this message must wait for
        it, else False. Automatic answers (a STOP confirmation, a HELP answer)
        answer the customer at once, and a seller may confirm a 1:1 text."""
        self.ensure_one()
        if self.sms_auto_reply or self.sms_quiet_hours_confirmed:
            return False
        return account._quiet_hours_until(outgoing.to_number, outgoing.from_number)

    def _sms_defer_for_quiet_hours(self, until):
        """Keep the message queued until ``until``, without counting an attempt."""
        self.ensure_one()
        self.write({"sms_next_attempt_date": until, "sms_quiet_hours_deferred": True})
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=until)
        _logger.info("SMS %s: deferred to %s, the end of the customer's quiet hours", self.id, until)

    @api.model
    def _send_one(self, api, sms_id, outgoing, needs_lookup, since):
        """One provider request, or a look-up first when an earlier attempt
        may have gone through. Runs in a sending thread: no database here."""
        if needs_lookup and not api.supports_idempotency:
            found = api.lookup(outgoing, since)
            if found:
                return found
        _logger.info("Sending SMS %s to %s through %s", sms_id, outgoing.to_number, api.code)
        return api.send(outgoing)

    def _apply_send_result(self, api, account, outgoing, result, needs_lookup, unlink_failed, unlink_sent):
        self.ensure_one()
        now = fields.Datetime.now()
        attempts = self.sms_attempt_count + 1
        values = {"sms_attempt_count": attempts, "sms_first_attempt_date": self.sms_first_attempt_date or now}
        tracker = self.sms_tracker_id.with_context(sms_skip_msg_notification=True)
        if result.error_code not in LOCAL_ERRORS:
            # The provider answered, or could not be reached.
            account._set_reachable(result.reached)
        if result.status == "accepted":
            tracker.write({"provider_message_id": result.external_id, "sms_account_id": account.id})
            tracker._action_update_from_sms_state("pending")
            self.write(
                dict(
                    values,
                    state="pending",
                    failure_type=False,
                    sms_outcome_unknown=False,
                    sms_next_attempt_date=False,
                    sms_quiet_hours_deferred=False,
                    to_delete=unlink_sent,
                )
            )
            account._after_accepted(api, outgoing, result)
        elif result.status in ("retry", "unknown") and attempts < MAX_SEND_ATTEMPTS:
            delay = max(result.retry_after, RETRY_BASE_DELAY * 2 ** (attempts - 1))
            next_date = now + timedelta(seconds=delay)
            self.write(
                dict(
                    values,
                    sms_next_attempt_date=next_date,
                    sms_quiet_hours_deferred=False,
                    sms_outcome_unknown=needs_lookup or result.status == "unknown",
                )
            )
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=next_date)
            _logger.info("SMS %s: temporary failure (%s), retry at %s", self.id, result.error_message, next_date)
        else:
            details = result.error_message
            if result.status in ("retry", "unknown"):
                # A transport error (an exception's text) is for the logs, not for the seller.
                _logger.warning("SMS %s: given up after %s attempts: %s", self.id, attempts, result.error_message)
                failure_type, code, details = "sms_server", "", ""
            elif result.error_code == "blacklist":
                failure_type, code = "sms_optout", ""
            elif result.error_code == "missing":
                failure_type, code = "sms_number_missing", ""
            elif result.error_code in ("account_archived", "no_sender"):
                failure_type, code = "sms_acc", ""
            else:
                failure_type, code = api.map_error(result.error_code), result.error_code
            tracker._action_update_from_provider_failure(
                failure_type,
                code,
                details,
                reason=self._sms_local_failure_reason(result.error_code, account),
            )
            if api.is_opt_out(code):
                tracker._sms_blacklist_recipients()
            self.write(
                dict(
                    values,
                    state="error",
                    failure_type=self._sms_failure_type(failure_type),
                    # Given up on an uncertain attempt: a resend looks it up first.
                    sms_outcome_unknown=result.status in ("retry", "unknown")
                    and (needs_lookup or result.status == "unknown"),
                    sms_next_attempt_date=False,
                    sms_quiet_hours_deferred=False,
                    to_delete=unlink_failed,
                )
            )

    def _sms_local_failure_reason(self, code, account):
        """What the seller is told when Odoo itself could not send the message, or None."""
        self.ensure_one()
        _ = self.env._
        if code == "account_archived":
            return _(
                "The SMS account %s is archived: its messages are not sent. Ask your administrator to restore it "
                "or to move the number to an active account, then resend.",
                account.name,
            )
        if code == "no_sender":
            return _(
                "The SMS account %s has no active sender number. Ask your administrator to add or restore a "
                "number, then resend.",
                account.name,
            )
        return None

    @api.model
    def _sms_max_attempts(self):
        return MAX_SEND_ATTEMPTS

    @api.model
    def _sms_failure_type(self, failure_type):
        """``failure_type`` if sms.sms knows it, else 'unknown' (details stay on the notification)."""
        known = dict(self._fields["failure_type"].selection)
        return failure_type if failure_type in known else "unknown"

    def _write_provider_state(self, state, report):
        """Follow a delivery report on SMS not yet garbage-collected."""
        for sms in self:
            values = {"state": state if state in dict(self._fields["state"].selection) else sms.state}
            if state == "error":
                values["failure_type"] = "unknown"
            sms.write(values)
