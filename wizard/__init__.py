from . import base_partner_merge_automatic_wizard
from . import sms_account_test
from . import sms_composer
from . import sms_resend
from . import sms_simulate_reply
