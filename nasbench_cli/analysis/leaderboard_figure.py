"""The leaderboard figure: per dataset, Kendall tau (95% interval, published tau marked) and
top-10% precision of every proxy, proxies in the order of their tau on the main target."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from nasbench_cli.analysis.figures import _new_figure, axis_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _value(row: Mapping[str, object], key: str) -> float:
    value = row.get(key, float("nan"))
    return float(value) if isinstance(value, (int, float)) else float("nan")


def leaderboard_figure(rows: Sequence[Mapping[str, object]], targets: Sequence[str], main_target: str) -> "Figure":
    """Two rows of panels (tau, p@10%) x one column per target; one horizontal bar per proxy."""
    main = sorted((r for r in rows if r["target"] == main_target), key=lambda r: _value(r, "tau"))
    names = [str(r["proxy"]) for r in main if not math.isnan(_value(r, "tau"))]
    height = 1.2 + 0.19 * len(names)
    fig = _new_figure(3.1 * len(targets), 2 * height)
    axes = fig.subplots(2, len(targets), sharey=True, squeeze=False)
    y = np.arange(len(names))
    for col, target in enumerate(targets):
        by_name = {str(r["proxy"]): r for r in rows if r["target"] == target}
        tau = np.array([_value(by_name[n], "tau") for n in names])
        lo = np.array([_value(by_name[n], "tau_lo") for n in names])
        hi = np.array([_value(by_name[n], "tau_hi") for n in names])
        pub = np.array([_value(by_name[n], "published_tau") for n in names])
        ax = axes[0][col]
        colours = ["#d62728" if by_name[n]["kind"] == "yours" else ("#2ca02c" if by_name[n]["kind"] == "group"
                                                                   else "#1f77b4") for n in names]
        ax.barh(y, tau, color=colours, alpha=0.8)
        ax.errorbar(tau, y, xerr=[np.nan_to_num(tau - lo), np.nan_to_num(hi - tau)], fmt="none", ecolor="k",
                    elinewidth=0.7, capsize=1.5)
        marked = ~np.isnan(pub)
        ax.plot(pub[marked], y[marked], "kx", markersize=5, label="published tau")
        ax.axvline(0, color="0.5", linewidth=0.6)
        # room on the right for the legend: the best proxies stay below tau 0.8
        ax.set_xlim(min(0.0, float(np.nanmin(np.append(lo, 0.0))) - 0.05), 1.0)
        ax.set_title(axis_label(target, short=True), fontsize=8)
        ax.set_xlabel("Kendall tau (95% interval)")
        if col == 0:
            ax.legend(loc="lower right")
        ax2 = axes[1][col]
        top = np.array([_value(by_name[n], "p@10%") for n in names])
        top_lo = np.array([_value(by_name[n], "p@10%_lo") for n in names])
        top_hi = np.array([_value(by_name[n], "p@10%_hi") for n in names])
        ax2.barh(y, top, color=colours, alpha=0.8)
        ax2.errorbar(top, y, xerr=[np.nan_to_num(np.clip(top - top_lo, 0, None)),
                                   np.nan_to_num(np.clip(top_hi - top, 0, None))],
                     fmt="none", ecolor="k", elinewidth=0.7, capsize=1.5)
        ax2.set_xlim(0, 1)
        ax2.set_xlabel("precision at the top 10% (95% interval)")
    # rows on fewer networks than the best-covered one say how many: their intervals are wider
    # and their ranks rest on other networks
    full = max(int(r["n"]) for r in main)
    labels = [n if int(r["n"]) >= full else f"{n} (n={int(r['n'])})"
              for n, r in zip(names, (r for r in main if not math.isnan(_value(r, "tau"))))]
    for row in axes:
        row[0].set_yticks(y, labels)
    fig.suptitle(f"NB201, {full:,} networks unless n says otherwise: Kendall tau and precision at the top 10%",
                 fontsize=9)
    return fig
