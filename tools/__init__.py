from . import phone, sms_provider, sms_simulator, sms_twilio
