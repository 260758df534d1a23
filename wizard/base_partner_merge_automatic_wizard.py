from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_reference_fields(self, src_partners, dst_partner):
        """Merged contacts' conversations follow their messages to the merged contact."""
        res = super()._update_reference_fields(src_partners, dst_partner)
        self.env["sms.conversation"]._merge_records(src_partners, dst_partner)
        return res
