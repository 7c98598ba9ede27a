"""The leaderboard of training-free proxies: every proxy on the same NB201 networks, one protocol.

Input: one score column per proxy over the same architectures (``index`` keyed), the benchmark's
accuracies, and the proxies' directions. Output: one row per (proxy, target) with Kendall tau and
Spearman rho (bootstrap 95% intervals), the top-of-ranking metrics of
:mod:`nasbench_cli.analysis.top_ranking`, the published value(s) beside with their source and the
difference, and the median seconds a network.

Aggregates are rows too: every registered proxy group whose members are all scored (``az_nas``,
VKDNW's rule, ...) and the best rank ensemble found by :func:`select_ensemble`. An ensemble picked
on the networks it is then measured on would flatter itself, so the selection runs on one half of
the networks (a seeded split) and the row reports the other half beside the whole sample.

Everything here is a pure function of its inputs: the same scores give the same table, byte for
byte (bootstraps are seeded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

from nasbench_cli.analysis.correlation import bootstrap_indices, correlate_pair, usable_pairs
from nasbench_cli.analysis.derived import ensemble_score, orient

#: the targets of the table: 200-epoch test accuracy on the three datasets, and CIFAR-10
#: validation (the only validation accuracy NB201's compact table holds is the 12-epoch one)
TARGETS: Tuple[str, ...] = (
    "cifar10/ori-test@200",
    "cifar100/x-test@200",
    "ImageNet16-120/x-test@200",
    "cifar10-valid/x-valid@12",
)
#: the dataset a target column belongs to, as the published tables name it
TARGET_DATASET = {
    "cifar10/ori-test@200": "cifar10",
    "cifar100/x-test@200": "cifar100",
    "ImageNet16-120/x-test@200": "ImageNet16-120",
    "cifar10-valid/x-valid@12": "cifar10-valid@12",
}
#: a proxy whose taus over seeds 0, 1, 2 span more than this is flagged as seed-sensitive
SEED_SPREAD = 0.02
DATASET_LABEL = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "IN16-120", "cifar10-valid@12": "C10 val@12"}


@dataclass(frozen=True)
class Published:
    """A published correlation of one proxy: metric (tau or rho), value per dataset, where from."""

    metric: str
    values: Mapping[str, float]
    source: str
    #: the networks the value is over: "all" (all of NB201, or a sample of it) or "unique" (one
    #: network of each pruned-cell class, as VKDNW's table: ``spaces.nb201.pruned_cell``)
    networks: str = "all"


_VKDNW_TABLE = ("VKDNW (CVPR 2025) Table 1: authors' codes re-run, mean of 5 runs, the 9,445 deduplicated "
                "NB201 networks")
#: ``Published.networks`` of a value over one network of each pruned-cell class
UNIQUE = "unique"
_ZC = "Abdelfattah et al. (ICLR 2021), all of NB201"
_NASWOT = "Mellor et al. (ICML 2021), ~1000 sampled NB201 nets"
_TENAS = "Chen et al. (ICLR 2021), NB201"
_MECO = "MeCo (NeurIPS 2023) abstract, NATS-Bench-TSS"
_GRADSIGN = "GradSign (ICLR 2022), quoted in VKDNW Table 1"
_SWAP_REG = ("SWAP-NAS (ICLR 2024) abstract: regularised SWAP-Score, NB201 nets, "
             "CIFAR-100 validation accuracy (not test)")


def _three(c10: float, c100: float, in16: float) -> Dict[str, float]:
    return {"cifar10": c10, "cifar100": c100, "ImageNet16-120": in16}


def _vkdnw(kt: Tuple[float, float, float], spr: Tuple[float, float, float],
           ndcg: Tuple[float, float, float], note: str = "") -> Tuple[Published, ...]:
    """The three metrics of one row of VKDNW's Table 1 (C10 / C100 / IN16-120)."""
    source = _VKDNW_TABLE + note
    return (Published("tau", _three(*kt), source, UNIQUE), Published("rho", _three(*spr), source, UNIQUE),
            Published("ndcg", _three(*ndcg), source, UNIQUE))


#: published NB201 values (../shared/docs/reproduction.md; VKDNW's Table 1 as its repository shows
#: it, table1.png; a number in a paper's abstract where its tables were not readable here); several
#: sources per proxy where they exist, the first of each metric is shown. A proxy without an entry
#: has no value that was read in a source (its own paper's table was not available as text).
PUBLISHED: Dict[str, Tuple[Published, ...]] = {
    "vkdnw": _vkdnw((.618, .634, .622), (.815, .829, .814), (.751, .617, .608), " (VKDNW single)"),
    "vkdnw_agg": _vkdnw((.750, .753, .743), (.919, .919, .906), (.785, .636, .664), " (VKDNW aggregate)"),
    "az_nas": _vkdnw((.712, .696, .673), (.892, .880, .859), (.749, .549, .534)) + (
        Published("tau", {"cifar10": .741}, "AZ-NAS notebook NB201/tss_general.ipynb (rho .913)"),),
    "zico": _vkdnw((.607, .614, .587), (.802, .809, .779), (.751, .607, .523)),
    "jacob_cov": _vkdnw((.616, .639, .602), (.800, .820, .779), (.540, .402, .356)) + (
        Published("rho", _three(.73, .71, .71), _ZC),),
    "naswot": _vkdnw((.571, .607, .605), (.762, .799, .794), (.607, .475, .490)) + (
        Published("tau", _three(.574, .611, .549), _NASWOT),),
    "flops": _vkdnw((.623, .586, .545), (.799, .763, .718), (.745, .576, .403)),
    "trainable_layers": _vkdnw((.626, .646, .623), (.767, .787, .764), (.671, .525, .497)),
    "grad_norm": _vkdnw((.328, .341, .310), (.438, .451, .418), (.509, .278, .265)) + (
        Published("rho", _three(.58, .64, .58), _ZC),),
    "grasp": _vkdnw((.352, .349, .359), (.505, .498, .502), (.518, .284, .281)) + (
        Published("rho", _three(.48, .54, .56), _ZC),),
    "snip": _vkdnw((.431, .440, .389), (.591, .597, .521), (.513, .286, .286)) + (
        Published("rho", _three(.58, .63, .58), _ZC),),
    "synflow": _vkdnw((.561, .553, .531), (.758, .750, .719), (.709, .594, .511)) + (
        Published("rho", _three(.74, .76, .75), _ZC),),
    "zen": _vkdnw((.102, .079, .091), (.103, .072, .109), (.120, .115, .073)),
    "gradsign": (Published("rho", _three(.765, .793, .783), _GRADSIGN),),
    "fisher": (Published("rho", _three(.36, .39, .33), _ZC),),
    "meco": (Published("rho", {"cifar10": .89}, _MECO),),
    "swap_reg": (Published("rho", {"cifar100": .90}, _SWAP_REG),),
    "ntk": (Published("tau", {"cifar10": -.42}, _TENAS + " (kappa, lower is better: the paper's -0.42, negated here as every min proxy)"),),
    "linear_regions": (Published("tau", {"cifar10": .50}, _TENAS),),
}


#: the leaderboard's cost goal (issue 35): scoring the whole table from nothing in under this many
#: hours of wall time, the work shared evenly by the processes (2 on this machine's 2 cores)
COST_GOAL_HOURS = 2.0


@dataclass(frozen=True)
class CostItem:
    """One proxy's share of scoring the table: networks planned, seconds a network, process-hours."""

    proxy: str
    networks: int
    seconds: float
    hours: float


def cost_items(seconds: Mapping[str, float], networks: Mapping[str, int]) -> List[CostItem]:
    """Each proxy's seconds a network x the networks planned for it, costliest first (ties by name)."""
    items = [CostItem(name, int(networks[name]), float(s), float(s) * int(networks[name]) / 3600)
             for name, s in seconds.items()]
    return sorted(items, key=lambda item: (-item.hours, item.proxy))


def cost_verdict(items: Sequence[CostItem], processes: int) -> Tuple[float, float, str]:
    """(process-hours in all, wall hours on ``processes`` sharing evenly, "met" or "not met")."""
    total = sum(item.hours for item in items)
    wall = total / processes
    return total, wall, "met" if wall < COST_GOAL_HOURS else "not met"


def published_entry(name: str, dataset: str, metric: str) -> Optional[Published]:
    """The first published ``metric`` of ``name`` on ``dataset``, else None."""
    for entry in PUBLISHED.get(name, ()):
        if entry.metric == metric and dataset in entry.values:
            return entry
    return None


def published_for(name: str, dataset: str, metric: str) -> Tuple[float, str]:
    """The first published ``metric`` of ``name`` on ``dataset`` and its source, else (nan, "")."""
    entry = published_entry(name, dataset, metric)
    return (entry.values[dataset], entry.source) if entry is not None else (float("nan"), "")


def oriented(values: np.ndarray, direction: str) -> np.ndarray:
    """Scores turned so that higher is better (``min`` proxies negated)."""
    return orient(np.asarray(values, dtype=np.float64), direction)


def paired_tau_difference(a: np.ndarray, b: np.ndarray, accuracy: np.ndarray, resamples: int = 1000,
                          seed: int = 0) -> Tuple[float, float, float, float]:
    """tau(a) - tau(b) against ``accuracy`` on the same networks, with a paired bootstrap: the same
    resampled networks for both scores. Returns (difference, lo, hi, share of resamples where a
    wins). ``a`` and ``b`` are oriented (higher is better); rows where any value is NaN are dropped."""
    a, b, y = (np.asarray(v, dtype=np.float64) for v in (a, b, accuracy))
    keep = ~(np.isnan(a) | np.isnan(b) | np.isnan(y))
    a, b, y = a[keep], b[keep], y[keep]
    if len(y) < 3:
        return (float("nan"),) * 4
    point = _tau(a, y) - _tau(b, y)
    diffs: List[float] = []
    for block in bootstrap_indices(len(y), resamples, seed):
        for rows in block:
            diffs.append(_tau(a[rows], y[rows]) - _tau(b[rows], y[rows]))
    values = np.asarray(diffs)
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(point), float(lo), float(hi), float(np.mean(values > 0))


def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b of oriented scores ``x`` with ``y`` over the rows where both are defined."""
    x, y = usable_pairs(x, y)
    return _tau(x, y) if len(x) >= 3 else float("nan")


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.kendalltau(np.where(np.isinf(x), np.sign(x) * 1e308, x), y).statistic)


@dataclass(frozen=True)
class Ensemble:
    """A rank ensemble chosen on the selection half: its members, rule and the tau it reached there."""

    members: Tuple[str, ...]
    rule: str
    selection_tau: float
    selection_rows: np.ndarray  # boolean mask of the networks the selection saw


def selection_mask(n: int, seed: int) -> np.ndarray:
    """A seeded half of ``n`` networks (True: used to pick the ensemble; False: held out)."""
    rng = np.random.default_rng([seed, 0x1EADB0A2D])
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[: n // 2]] = True
    return mask


def select_ensemble(columns: Mapping[str, np.ndarray], directions: Mapping[str, str], accuracy: np.ndarray,
                    seed: int = 0, max_members: int = 6, min_gain: float = 0.002) -> Ensemble:
    """Greedy forward selection of a rank ensemble on the selection half of the networks.

    Start from the single best proxy and keep adding the proxy that raises the ensemble's tau
    most, up to ``max_members``, even through a step that lowers it (a strong proxy joined by one
    weaker one can lose, while three more win: meco alone beats meco + any one AZ-NAS part, but
    not meco with four others); then keep the best prefix, a longer one only if it adds
    ``min_gain``. Both rules (mean rank, sum of log ranks) are tried and the better on the
    selection half is kept. Ties go to the name first in sorted order, so the result depends only
    on the inputs. Members with NaN on a network make that network's ensemble value NaN; such
    networks drop out of the tau, as everywhere.
    """
    names = sorted(columns)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    mask = selection_mask(len(accuracy), seed)
    best: Optional[Ensemble] = None
    for rule in ("mean-rank", "log-rank"):
        chosen, taus = _greedy_path(columns, directions, accuracy, mask, names, rule, max_members)
        keep = 0
        for k in range(1, len(taus)):
            if taus[k] >= taus[keep] + min_gain:
                keep = k
        if taus and (best is None or taus[keep] > best.selection_tau):
            best = Ensemble(tuple(chosen[: keep + 1]), rule, taus[keep], mask)
    assert best is not None
    return best


def _greedy_path(columns: Mapping[str, np.ndarray], directions: Mapping[str, str], accuracy: np.ndarray,
                 mask: np.ndarray, names: Sequence[str], rule: str, max_members: int) -> Tuple[List[str], List[float]]:
    """The greedy sequence of members and the selection-half tau after each addition."""
    chosen: List[str] = []
    taus: List[float] = []
    while len(chosen) < min(max_members, len(names)):
        tau, name = -math.inf, ""
        for candidate in names:  # sorted: a tie keeps the name first in order
            if candidate in chosen:
                continue
            values = ensemble_score({m: columns[m][mask] for m in chosen + [candidate]}, directions, rule)
            candidate_tau = _pair_tau(values, accuracy[mask])
            if candidate_tau > tau:
                tau, name = candidate_tau, candidate
        if not name:
            break
        chosen.append(name)
        taus.append(tau)
    return chosen, taus


def _pair_tau(x: np.ndarray, y: np.ndarray) -> float:
    x, y = usable_pairs(x, y)
    return _tau(x, y) if len(x) >= 3 else -math.inf


def point_metrics(values: np.ndarray, accuracy: np.ndarray) -> Dict[str, float]:
    """n, tau, rho and nDCG of oriented ``values`` (no intervals) over the rows both define."""
    from nasbench_cli.analysis.top_ranking import top_ranking_metrics

    x, y = usable_pairs(np.asarray(values, dtype=np.float64), np.asarray(accuracy, dtype=np.float64))
    if len(x) < 3:
        return {"n": float(len(x)), "tau": float("nan"), "rho": float("nan"), "ndcg": float("nan")}
    rho = float(stats.spearmanr(np.where(np.isinf(x), np.sign(x) * 1e308, x), y).statistic)
    return {"n": float(len(x)), "tau": _tau(x, y), "rho": rho, "ndcg": float(top_ranking_metrics(x, y)["ndcg"])}


def metric_row(name: str, values: np.ndarray, direction: str, target: str, accuracy: np.ndarray,
               resamples: int, seed: int,
               unique: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> Dict[str, object]:
    """One table row: correlations with intervals, top-of-ranking metrics, published beside.

    Every correlation reads higher = better: a proxy whose lower score is better (``direction``
    "min": ntk's condition number) is negated first, and its published tau and rho likewise
    (TE-NAS's -0.42 is 0.42 here), so rows rank and compare on one scale (as the seed spread and
    the ensembles already do). ``unique`` (the score's values and the accuracies on the sample's
    networks that are first of their pruned-cell class) adds tau, rho and nDCG there; a published
    value over such networks (VKDNW's table) is then compared with those, like with like."""
    from nasbench_cli.analysis.top_ranking import precision_interval, top_ranking_metrics

    x_all = oriented(values, direction)
    corr = correlate_pair(name, target, x_all, accuracy, direction="max", resamples=resamples, seed=seed)
    x, y = usable_pairs(x_all, accuracy)
    top = top_ranking_metrics(x, y) if len(x) >= 3 else {}
    top_lo, top_hi = precision_interval(x, y, TOP_INTERVAL_FRACTION, resamples, seed)
    ours = {"tau": corr.kendall_tau, "rho": corr.spearman_rho, "ndcg": top.get("ndcg", float("nan"))}
    on_unique = point_metrics(oriented(unique[0], direction), unique[1]) if unique is not None else None
    dataset = TARGET_DATASET.get(target, target)
    sign = {"tau": -1.0 if direction == "min" else 1.0, "rho": -1.0 if direction == "min" else 1.0, "ndcg": 1.0}
    published: Dict[str, object] = {}
    sources, networks = [], []
    for metric in ("tau", "rho", "ndcg"):
        entry = published_entry(name, dataset, metric)
        value = sign[metric] * entry.values[dataset] if entry is not None else float("nan")
        like = on_unique if entry is not None and entry.networks == UNIQUE and on_unique is not None else ours
        published[f"published_{metric}"] = value
        published[f"{metric}_minus_published"] = like[metric] - value
        published[f"{metric}_published_on"] = ""
        if entry is not None:
            sources.append(entry.source)
            networks.append(UNIQUE if like is on_unique else "all")
            published[f"{metric}_published_on"] = networks[-1]
    return {
        "proxy": name, "target": target, "n": corr.n, "direction": direction,
        "tau": corr.kendall_tau, "tau_lo": corr.kendall_lo, "tau_hi": corr.kendall_hi,
        "rho": corr.spearman_rho, "rho_lo": corr.spearman_lo, "rho_hi": corr.spearman_hi,
        **{key: top.get(key, float("nan")) for key in TOP_KEYS},
        f"{TOP_INTERVAL_KEY}_lo": top_lo, f"{TOP_INTERVAL_KEY}_hi": top_hi,
        **published,
        "published_source": "; ".join(dict.fromkeys(sources)),
        "published_networks": ",".join(dict.fromkeys(networks)),
        **({"n_unique": int(on_unique["n"]), **{f"{key}_unique": on_unique[key] for key in ("tau", "rho", "ndcg")}}
           if on_unique is not None else {}),
    }


#: the top-of-ranking columns, in order (analysis.top_ranking's keys)
TOP_KEYS: Tuple[str, ...] = ("p@1%", "p@5%", "p@10%", "ndcg", "top1_acc", "regret")
#: the precision given a bootstrap interval (the figure's): ``p@10%_lo``, ``p@10%_hi``
TOP_INTERVAL_FRACTION = 0.10
TOP_INTERVAL_KEY = "p@10%"
