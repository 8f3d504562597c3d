"""Chart data for unfold's chart components (Chart.js, vendored by unfold and loaded on every admin page).

    {% include "unfold/components/chart/bar.html" with data=data.chart options=data.chart_options height=220 %}

`chart_json` builds the `data` attribute ({"labels", "datasets"}); `bar_options` the options, which replace
unfold's defaults (thin, ungrouped bars) with readable stacked or grouped bars, a legend and whole-number
axes. Colours are those of the status badges, so a chart and the badges next to it agree.
"""

import json

GREEN, YELLOW, RED, BLUE, GREY = "#22c55e", "#f59e0b", "#ef4444", "#3b82f6", "#94a3b8"
TONE_COLOURS = {"green": GREEN, "yellow": YELLOW, "red": RED, "blue": BLUE, "grey": GREY}


def dataset(label, data, colour):
    return {"label": label, "data": list(data), "backgroundColor": colour, "borderColor": colour}


def chart_json(labels, datasets):
    """The JSON string unfold's chart components take as `data`."""
    return json.dumps({"labels": list(labels), "datasets": list(datasets)}, separators=(",", ":"))


def bar_options(stacked=True, legend=True, max_ticks=12):
    axis_ticks = {"color": "#9ca3af", "maxRotation": 0, "autoSkip": True, "maxTicksLimit": max_ticks}
    return json.dumps({
        "animation": False, "responsive": True, "maintainAspectRatio": False,
        "interaction": {"mode": "index", "intersect": False},
        "datasets": {"bar": {"borderRadius": 3, "maxBarThickness": 32, "categoryPercentage": 0.8,
                             "barPercentage": 0.9}},
        "plugins": {
            "legend": {"display": legend, "position": "bottom",
                       "labels": {"boxWidth": 8, "boxHeight": 8, "usePointStyle": True, "color": "#6b7280"}},
            "tooltip": {"enabled": True},
        },
        "scales": {
            "x": {"stacked": stacked, "grid": {"display": False}, "ticks": axis_ticks},
            "y": {"stacked": stacked, "beginAtZero": True, "ticks": {"precision": 0, "color": "#9ca3af"},
                  "border": {"display": False}},
        },
    }, separators=(",", ":"))
