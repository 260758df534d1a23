from odoo.tests import tagged
from odoo.tools import SQL

from ..hooks import PHONE_KEY_TABLES, fill_phone_keys
from ..models.sms_phone_key_mixin import PHONE_KEY_FIELDS
from ..tools.compat import PHONE_FIELDS
from .common import HAS_MOBILE, SmsConversationCase


@tagged("post_install", "-at_install")
class TestRouting(SmsConversationCase):
    """Each routing rule decides alone: the records differ in that rule's
    key and in the keys of later rules, which would pick the other record."""

    def _set_write_date(self, record, days_ago):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET write_date = now() at time zone 'UTC' - %s * interval '1 day' WHERE id = %s",
                SQL.identifier(record._table),
                days_ago,
                record.id,
            )
        )
        record.invalidate_recordset(["write_date"])

    def _route(self, number=None, from_number=None):
        message = self._receive(from_number=from_number or self.customer_number, number=number or self.number_a)
        conversation = message.sms_conversation_id
        return self.env[conversation.res_model].browse(conversation.res_id), conversation

    def test_single_candidate(self):
        partner = self._partner("Only One", phone=self.customer_number)
        record, conversation = self._route()
        self.assertEqual(record, partner)
        self.assertEqual(conversation.routing_rule, "single")
        self.assertIn("Only One", conversation.routing_reason)

    def test_single_archived_candidate(self):
        partner = self._partner("Archived One", phone=self.customer_number, active=False)
        record, _conversation = self._route()
        self.assertEqual(record, partner, "archived records are candidates too")

    def test_unknown_number_creates_lead(self):
        record, conversation = self._route(number=self.number_a, from_number="+14155550987")
        self.assertEqual(record._name, "crm.lead")
        self.assertEqual(conversation.routing_rule, "new_lead")
        self.assertIn("+14155550987", record.name)
        self.assertEqual(record.phone, "+14155550987")
        self.assertEqual(record.user_id, self.user_seller_a, "the number's only seller owns the lead")
        self.assertEqual(record.company_id, self.company)

    def test_unknown_number_team_number_has_no_public_salesperson(self):
        record, _conversation = self._route(number=self.number_b, from_number="+14155550988")
        self.assertEqual(record._name, "crm.lead")
        self.assertEqual(record.team_id, self.team_b)
        self.assertFalse(record.user_id, "a lead created by the webhook is not given to the public user")

    def test_rule_1_most_recent_conversation(self):
        older = self._partner("Older Conversation", phone=self.customer_number)
        recent = self._partner("Recent Conversation", phone=self.customer_number)
        fresh = self._partner("No Conversation", phone=self.customer_number)
        Conversation = self.env["sms.conversation"]
        Conversation._get_or_create(self.number_b, self.customer_number, older)._touch(self._later(-7200))
        Conversation._get_or_create(self.number_b, self.customer_number, recent)._touch(self._later(-3600))
        # Rule 6 alone would pick the most recently updated record.
        self._set_write_date(recent, 10)
        self._set_write_date(older, 5)
        self._set_write_date(fresh, 0)
        record, conversation = self._route()
        self.assertEqual(record, recent)
        self.assertEqual(conversation.routing_rule, "rule_1")

    def test_rule_1_follows_a_moved_conversation(self):
        """A conversation moved to a record without the number keeps receiving the replies."""
        self._partner("Has The Number", phone=self.customer_number)
        opportunity = self._lead("Moved Here")
        self.env["sms.conversation"]._get_or_create(self.number_a, self.customer_number, opportunity)._touch()
        record, conversation = self._route()
        self.assertEqual(record, opportunity)
        self.assertEqual(conversation.routing_rule, "rule_1")

    def test_rule_2_owner_assigned_to_number(self):
        mine = self._lead("Owned by the number's seller", phone=self.customer_number, user_id=self.user_seller_a.id)
        other = self._lead("Owned by another seller", phone=self.customer_number, user_id=self.user_seller_b.id)
        self._set_write_date(mine, 3)
        self._set_write_date(other, 0)
        record, conversation = self._route(number=self.number_a)
        self.assertEqual(record, mine)
        self.assertEqual(conversation.routing_rule, "rule_2")
        self.assertIn("+14155550100", conversation.routing_reason)

    def test_rule_3_owner_in_number_team(self):
        team_member = self._lead("Team B member", phone=self.customer_number, user_id=self.user_seller_b.id)
        outsider = self._lead("Outsider", phone=self.customer_number, user_id=self.user_seller_a.id)
        self._set_write_date(team_member, 3)
        self._set_write_date(outsider, 0)
        record, conversation = self._route(number=self.number_b)
        self.assertEqual(record, team_member)
        self.assertEqual(conversation.routing_rule, "rule_3")
        self.assertIn("Team B", conversation.routing_reason)

    def test_rule_4_contact_first(self):
        contact = self._partner("A Person", phone=self.customer_number)
        company = self._partner("A Company", phone=self.customer_number, is_company=True)
        opportunity = self._lead("An Opportunity", phone=self.customer_number)
        lead = self._lead("A Lead", "lead", phone=self.customer_number)
        for days, record in enumerate((lead, opportunity, company, contact)):
            self._set_write_date(record, days)
        record, conversation = self._route()
        self.assertEqual(record, contact)
        self.assertEqual(conversation.routing_rule, "rule_4")

    def test_rule_4_company_before_opportunity_before_lead(self):
        company = self._partner("A Company", phone=self.customer_number, is_company=True)
        opportunity = self._lead("An Opportunity", phone=self.customer_number)
        lead = self._lead("A Lead", "lead", phone=self.customer_number)
        for days, record in enumerate((lead, opportunity, company)):
            self._set_write_date(record, days)
        record, _conversation = self._route()
        self.assertEqual(record, company)

        self.env["sms.conversation"].search([]).unlink()
        company.phone = False
        self._set_write_date(opportunity, 5)
        record, conversation = self._route()
        self.assertEqual(record, opportunity, "an opportunity comes before a lead")
        self.assertEqual(conversation.routing_rule, "rule_4")

    def test_rule_5_active_before_archived(self):
        active = self._partner("Active", phone=self.customer_number)
        archived = self._partner("Archived", phone=self.customer_number, active=False)
        self._set_write_date(active, 3)
        self._set_write_date(archived, 0)
        record, conversation = self._route()
        self.assertEqual(record, active)
        self.assertEqual(conversation.routing_rule, "rule_5")

    def test_rule_5_open_opportunity_before_won(self):
        open_opportunity = self._lead("Open", phone=self.customer_number)
        won = self._lead("Won", phone=self.customer_number)
        won.action_set_won()
        self._set_write_date(open_opportunity, 3)
        self._set_write_date(won, 0)
        record, conversation = self._route()
        self.assertEqual(record, open_opportunity)
        self.assertEqual(conversation.routing_rule, "rule_5")

    def test_rule_6_most_recently_updated(self):
        stale = self._partner("Stale", phone=self.customer_number)
        fresh = self._partner("Fresh", phone=self.customer_number)
        self._set_write_date(stale, 1)
        self._set_write_date(fresh, 3)
        self._set_write_date(stale, 0)  # the older record, updated last
        record, conversation = self._route()
        self.assertEqual(record, stale)
        self.assertEqual(conversation.routing_rule, "rule_6")

    def test_other_company_records_are_not_candidates(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self._partner("Elsewhere", phone=self.customer_number, company_id=other_company.id)
        mine = self._partner("Here", phone=self.customer_number)
        record, conversation = self._route()
        self.assertEqual(record, mine)
        self.assertEqual(conversation.routing_rule, "single")

    def test_replies_keep_their_conversation(self):
        self._partner("Customer", phone=self.customer_number)
        first = self._receive("First")
        second = self._receive("Second")
        self.assertEqual(first.sms_conversation_id, second.sms_conversation_id)
        self.assertEqual(self.env["sms.conversation"].search_count([("remote_number", "=", self.customer_number)]), 1)


@tagged("post_install", "-at_install")
class TestRoutingNumberFormats(SmsConversationCase):
    """Stored numbers in any common format are found from the provider's E.164 sender."""

    def _assert_routed(self, from_number, **partner_values):
        partner = self._partner("Formats", **partner_values)
        message = self._receive(from_number=from_number)
        conversation = message.sms_conversation_id
        self.assertEqual((conversation.res_model, conversation.res_id), ("res.partner", partner.id), partner_values)

    def test_national_format(self):
        self._assert_routed("+14155550123", phone="(415) 555-0123")

    def test_international_format(self):
        self._assert_routed("+14155550123", phone="+1 415-555-0123")

    def test_00_prefix(self):
        self._assert_routed("+14155550123", phone="00 1 415 555 0123")

    def test_spaces_and_punctuation(self):
        self._assert_routed("+14155550123", phone="415.555.01 23")

    def test_other_country_national(self):
        self._assert_routed("+442083661177", phone="020 8366 1177", country_id=self.env.ref("base.uk").id)

    def test_other_country_without_record_country_uses_company_country(self):
        self._assert_routed("+14155550123", phone="415 555 0123", country_id=False)

    if HAS_MOBILE:  # Odoo 19 has no mobile field

        def test_mobile_field(self):
            self._assert_routed("+32470123456", mobile="0470 12 34 56", country_id=self.env.ref("base.be").id)

    def test_keys_follow_edits(self):
        partner = self._partner("Edited", phone="(415) 555-0100")
        partner.phone = "(415) 555-0199"
        self.assertEqual(partner.sms_phone_e164, "+14155550199")
        partner.country_id = self.env.ref("base.uk")
        self.assertEqual(partner.sms_phone_e164, "+444155550199")


@tagged("post_install", "-at_install")
class TestRoutingLookupPlan(SmsConversationCase):
    def test_lookup_uses_an_index(self):
        """The candidate lookup is an index scan, never a sequential scan."""
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        for model, table in (("res.partner", "res_partner"), ("crm.lead", "crm_lead")):
            Model = self.env[model].with_context(active_test=False)
            query = Model._search(
                [*Model._sms_phone_key_domain(self.customer_number), ("company_id", "in", [False, self.company.id])]
            )
            self.env.cr.execute(SQL("EXPLAIN %s", query.select()))
            plan = "\n".join(row[0] for row in self.env.cr.fetchall())
            self.assertNotIn(f"Seq Scan on {table}", plan, plan)
            self.assertIn("Index", plan, plan)


@tagged("post_install", "-at_install")
class TestPhoneKeysAtInstall(SmsConversationCase):
    def test_sql_fill_matches_the_orm(self):
        """The installation hook writes the same keys as the fields' compute method."""
        be = self.env.ref("base.be")
        partners = (
            self._partner("National", phone="(415) 555-0123", **({"mobile": "415.555.0124"} if HAS_MOBILE else {}))
            | self._partner("Belgian", phone="0470 12 34 56", country_id=be.id)
            | self._partner("No country", phone="415 555 0125", country_id=False)
            | self._partner("International", phone="00 44 20 8366 1177")
            | self._partner("Not a number", phone="call me")
        )
        lead = self._lead("Lead", phone="020 8366 1177", country_id=self.env.ref("base.uk").id)
        keys = [PHONE_KEY_FIELDS[field] for field in PHONE_FIELDS]
        expected = {r: tuple(r[key] for key in keys) for r in (*partners, lead)}
        self.assertEqual(expected[partners[1]][0], "+32470123456")
        if HAS_MOBILE:
            self.assertEqual(expected[partners[0]], ("+14155550123", "+14155550124"))
        self.env.flush_all()
        for table in PHONE_KEY_TABLES:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET %s",
                    SQL.identifier(table),
                    SQL(", ").join(SQL("%s = NULL", SQL.identifier(key)) for key in keys),
                )
            )
        for table in PHONE_KEY_TABLES:
            fill_phone_keys(self.env.cr, table, self.env.company.country_id.code, batch_size=2)
        self.env.invalidate_all()
        self.assertEqual({r: tuple(r[key] for key in keys) for r in expected}, expected)
