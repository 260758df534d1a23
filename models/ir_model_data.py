from odoo import api, models
from odoo.tools import convert

from ..tools.compat import SERIES_DATA


class IrModelData(models.Model):
    _inherit = "ir.model.data"

    @api.model
    def _sms_conversation_load_series_data(self):
        """Load the data files of the running series only (the manifest's
        list is the same on every series), at installation and update."""
        for filename in SERIES_DATA:
            convert.convert_file(self.env, "crm_sms_conversation", filename, {}, mode="update", noupdate=False)
