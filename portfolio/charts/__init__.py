"""What the admin's charts read: a chosen time range (ranges.py), and series aggregated in the
database (sensors.py, farms.py), each at most ``ranges.MAX_POINTS`` points whatever the range.

The JSON a chart endpoint returns (drawn by static/portfolio/charts.js):

- ``{"kind": "line", "series": [{"label", "unit", "style": "line" | "step" | "area" | "band", "points"}]}``,
  points ``[epoch milliseconds, value]`` (a band: ``[ms, lowest, highest]``);
- ``{"kind": "bars", "labels": [...], "series": [{"label", "unit", "values", "tone"}]}``, bars
  stacked when ``stacked`` is true;

both with ``range`` (from, to, in words), ``notes`` (sentences under the chart) and ``empty``.
"""
