from . import sms_simulate_reply
