from portfolio.models.assets import *  # noqa: F403
from portfolio.models.farms import *  # noqa: F403
from portfolio.models.imports import *  # noqa: F403
from portfolio.models.meters import *  # noqa: F403
from portfolio.models.portfolios import *  # noqa: F403
from portfolio.models.preferences import *  # noqa: F403
