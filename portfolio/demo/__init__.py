"""The demo portfolio on real public data: data.py reads the extracts in portfolio/demo_data/,
readings.py models the farms' sensors, build.py makes the objects."""

from portfolio.demo.build import PORTFOLIO, load_demo_portfolio

__all__ = ["PORTFOLIO", "load_demo_portfolio"]
