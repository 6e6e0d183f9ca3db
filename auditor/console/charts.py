"""Charts drawn on the server as SVG geometry (the template only places rectangles and text):
no script, no external URL, the page's CSP stays as strict as the rest of the console."""

from __future__ import annotations

from collections import Counter
from typing import Any

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 200, 36, 22, 8


def stacked_bars(dates: list[str], per_day: dict[str, Counter], keys: list[str]) -> dict[str, Any]:
    """One bar per date, stacked by key (a CSS class ``c-<key>`` colours each part)."""
    top = max((sum(per_day[d].values()) for d in dates), default=0) or 1
    top = int(top) if float(top).is_integer() else round(top, 1)
    plot_h = HEIGHT - BOTTOM - TOP
    slot = min((WIDTH - LEFT) / max(1, len(dates)), 48)  # a few days stay narrow bars
    bars, labels = [], []
    for i, date in enumerate(dates):
        x = LEFT + i * slot + slot * 0.15
        y = HEIGHT - BOTTOM
        for key in keys:
            n = per_day[date].get(key, 0)
            if n:
                h = n / top * plot_h
                y -= h
                bars.append(
                    {
                        "x": round(x, 1),
                        "y": round(y, 1),
                        "w": round(slot * 0.7, 1),
                        "h": round(h, 1),
                        "key": key,
                    }
                    | {"title": f"{date} {key}: {n}"}
                )
        if len(dates) <= 12 or i % max(1, len(dates) // 10) == 0:
            labels.append({"x": round(x, 1), "text": date[5:]})
    ticks = [
        {"y": round(HEIGHT - BOTTOM - v / top * plot_h, 1), "value": v} for v in sorted({0, top // 2, top})
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "base": HEIGHT - BOTTOM,
    }


def bars(dates: list[str], values: dict[str, float], key: str) -> dict[str, Any]:
    return stacked_bars(dates, {d: Counter({key: values.get(d, 0)}) for d in dates}, [key])
