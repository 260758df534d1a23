{
    "name": "CRM SMS Conversations",
    "summary": "Two-way SMS conversations with customers on contacts, leads and opportunities",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/crm-sms-conversation/crm_sms_conversation",
    "author": "crm_sms_conversation developers",
    "license": "LGPL-3",
    "depends": ["crm", "sms", "phone_validation", "mail", "bus"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/crm_sms_conversation_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "data/mail_activity_type_data.xml",
        "wizard/sms_composer_views.xml",
        "wizard/sms_simulate_reply_views.xml",
        "views/sms_account_views.xml",
        "views/sms_number_views.xml",
        "views/sms_conversation_views.xml",
        "views/sms_conversation_pane_views.xml",
        "views/sms_event_views.xml",
        "views/crm_sms_conversation_menus.xml",
    ],
    "demo": [
        "demo/crm_sms_conversation_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "crm_sms_conversation/static/src/**/*",
        ],
        "web.assets_tests": [
            "crm_sms_conversation/static/tests/tours/**/*",
        ],
    },
    "pre_init_hook": "pre_init_hook",
    "installable": True,
    "application": False,
}
