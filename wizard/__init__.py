from . import sms_composer
from . import sms_simulate_reply
