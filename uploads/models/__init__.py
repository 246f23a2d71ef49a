from uploads.models.attempts import *  # noqa: F403
from uploads.models.leases import *  # noqa: F403
from uploads.models.outbound import *  # noqa: F403
from uploads.models.raptormaps import *  # noqa: F403
from uploads.models.runs import *  # noqa: F403
from uploads.models.syncs import *  # noqa: F403
from uploads.models.wattcarbon import *  # noqa: F403
