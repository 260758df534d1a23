from . import phone, sms_plivo, sms_provider, sms_simulator, sms_telnyx, sms_twilio, sms_vonage
