from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSmoke(TransactionCase):
    def test_demo_routing(self):
        conversation = self.env["sms.conversation"].search([("remote_number", "=", "+14155550177")])
        self.assertEqual(conversation.res_model, "crm.lead")
