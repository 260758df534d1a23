from . import test_provider_tools
from . import test_routing
from . import test_webhook
from . import test_outbound
from . import test_inbound
from . import test_security
from . import test_pane
from . import test_ui
