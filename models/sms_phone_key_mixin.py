from odoo import api, fields, models

from ..tools.compat import PHONE_FIELDS
from ..tools.phone import normalize_e164

# Each phone field read by routing and its indexed key.
PHONE_KEY_FIELDS = {"phone": "sms_phone_e164", "mobile": "sms_mobile_e164"}


class SmsPhoneKeyMixin(models.AbstractModel):
    """Indexed E.164 keys of a record's phone fields, for inbound routing.

    Odoo's own ``phone_sanitized`` keeps one number per record and is not
    indexed on contacts; routing needs every phone field (``phone`` and, on
    Odoo 18, ``mobile``), national formats read with the record's country,
    and an index lookup.
    """

    _name = "sms.phone.key.mixin"
    _description = "SMS routing phone keys"

    sms_phone_e164 = fields.Char(
        "Phone (E.164)", compute="_compute_sms_phone_keys", store=True, index="btree_not_null", copy=False
    )
    if "mobile" in PHONE_FIELDS:
        sms_mobile_e164 = fields.Char(
            "Mobile (E.164)", compute="_compute_sms_phone_keys", store=True, index="btree_not_null", copy=False
        )

    @api.depends(*PHONE_FIELDS, "country_id", "company_id.country_id")
    def _compute_sms_phone_keys(self):
        for record in self:
            region = record._sms_phone_region()
            for field in PHONE_FIELDS:
                record[PHONE_KEY_FIELDS[field]] = normalize_e164(record[field], region) or False

    def _sms_phone_region(self):
        """Country code used to read national numbers: the record's country,
        else its company's, else the main company's. Never the current user's
        company: the same number gets the same key whoever saves it."""
        self.ensure_one()
        country = self.country_id or self.company_id.country_id or self._sms_main_company().country_id
        return country.code or None

    @api.model
    def _sms_main_company(self):
        """The database's main company (the first one), in sudo."""
        company = self.env.ref("base.main_company", raise_if_not_found=False)
        return (company or self.env["res.company"].search([], order="id", limit=1)).sudo()

    @api.model
    def _sms_phone_key_domain(self, e164):
        keys = [PHONE_KEY_FIELDS[field] for field in PHONE_FIELDS]
        return [*["|"] * (len(keys) - 1), *[(key, "=", e164) for key in keys]]

    def _sms_phone_numbers(self):
        """The record's phone fields as {field name: E.164}, empty ones left out."""
        self.ensure_one()
        keys = {field: self[PHONE_KEY_FIELDS[field]] for field in PHONE_FIELDS}
        return {field: number for field, number in keys.items() if number}

    # Routing hooks, overridden by each model ---------------------------

    def _sms_owner_team(self):
        """Sales team of the record (its own, else its owner's)."""
        self.ensure_one()
        team = self.team_id if "team_id" in self._fields else self.env["crm.team"]
        return team or self.user_id.sale_team_id

    def _sms_routing_type_rank(self):
        """Rule 4: contact 0, company 1, opportunity 2, lead 3."""
        raise NotImplementedError()

    def _sms_routing_is_active(self):
        """Rule 5: False for archived, won or lost records."""
        self.ensure_one()
        return self.active

    def _sms_type_code(self):
        """contact, company, opportunity or lead."""
        raise NotImplementedError()

    @api.model
    def _sms_type_labels(self):
        """Type codes and their labels, in the current language."""
        _ = self.env._
        return {
            "contact": _("Contact"),
            "company": _("Company"),
            "opportunity": _("Opportunity"),
            "lead": _("Lead"),
        }

    def _sms_type_label(self):
        """Contact, Company, Opportunity or Lead."""
        self.ensure_one()
        return self._sms_type_labels()[self._sms_type_code()]

    def _sms_routing_label(self):
        """The record as routing reasons and logs name it, e.g. "Opportunity Fleet tracking"."""
        self.ensure_one()
        return f"{self._sms_type_label()} {self.display_name}"

    def _sms_routing_label_data(self):
        """What names the record in a reason stored once, worded in each reader's language."""
        self.ensure_one()
        return {"type": self._sms_type_code(), "name": self.display_name}

    def _sms_routing_author(self, remote_number):
        """Partner authoring an inbound message from ``remote_number``, if known."""
        return self.env["res.partner"]

    def _sms_customer_name(self):
        """The customer as sellers name them in lists."""
        self.ensure_one()
        return self.display_name

    # CRUD ----------------------------------------------------------------

    def unlink(self):
        self.env["sms.conversation"]._unlink_records(self)
        return super().unlink()
