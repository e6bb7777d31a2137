"""The soak run's Markdown report and its picture: each node's certificate age over the
simulated year, renewals where the age drops, faults marked (matplotlib when installed:
``pip install 'certops[soak]'``; without it the report says so and has no picture)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

HEADLINE = (
    ("seconds a node served or presented an expired certificate (TLS port, X15.5 client, "
     "SIP TLS)", "expired_served_seconds"),
    ("handshakes a linked peer would refuse", "refused_handshakes"),
    ("cluster invariant breaches", "invariant_breaches"),
    ("calls certops' restarts dropped on the Expressways (drained first)",
     "calls_dropped_expressway"),
    ("calls dropped in all (Unified CM: a CallManager restart cannot be drained)",
     "calls_dropped"),
    ("... of them by the unannounced restart (a fault, not certops)", "calls_dropped_by_fault"),
    ("calls refused at arrival in the year (no member of the node's cluster took calls)",
     "calls_refused"),
    ("phones that lost trust", "phones_lost_trust"),
    ("runs that exited non-zero", "failed_runs"),
    ("... of them recovered by a later run, no person", "recovered_runs"),
    ("steps left manual", "manual_steps"),
    ("faults fired", "faults_fired"),
)


def markdown(result: dict[str, Any], picture: Path | None) -> str:
    o = result["options"]
    lines = [
        "# certops soak run",
        "",
        f"{result['simulated_days']} simulated days in {result['real_seconds']} s "
        f"(a day = {o['day_seconds']} s), seed {o['seed']}, certificates of "
        f"{o['lifetime_days']} days renewed at renew_before {o['renew_before']}, a window "
        f"every {o['window_every_days']} days open {o['window_open_days']}.",
        "",
        "| counter (from the lab's timeline and the timer's exit codes) | value |",
        "|---|---|",
    ]
    for label, key in HEADLINE:
        value = result.get(key)
        lines.append(f"| {label} | {'not measured' if value is None else value} |")
    setup = {n: c["refused"] for n, c in result.get("calls_setup", {}).items() if c["refused"]}
    if setup:
        lines += ["", "Before the clock (the onboarding's restarts): calls refused at arrival "
                  + ", ".join(f"{n} {c}" for n, c in sorted(setup.items()))
                  + " (a Cisco CallManager restart on a node no cluster peer covers)."]
    lines += ["", "| fault | day | facts |", "|---|---|---|"]
    for fired in result["faults"]:
        facts = ", ".join(f"{k}={v}" for k, v in fired.items()
                          if k not in ("fault", "day", "wall"))
        lines.append(f"| {fired['fault']} | {fired['day']} | {facts} |")
    runs = result["runs"]
    lines += ["", "| command | runs | failed | recovered | failed by fault |",
              "|---|---|---|---|---|"]
    for command, r in runs.items():
        lines.append(f"| certops {command} | {r['runs']} | {r['failed']} | {r['recovered']} "
                     f"| {r['failed_by_fault']} |")
    lines += ["", "Renewals that reached the node, per leaf (served on the TLS port; X15.5's "
              "client certificate; the CallManager identity on SIP TLS) and node:", ""]
    for leaf, counts in result.get("renewals_by_leaf", {"served": result["renewals"]}).items():
        closest = result.get("closest_call_days", {}).get(leaf)
        lines.append(f"- {leaf}: " + ", ".join(f"{n} {c}" for n, c in sorted(counts.items()))
                     + ("" if closest is None else
                        f" (the least left at a renewal: {closest} days)"))
    lines += _timing(result)
    if picture is not None:
        lines += ["", f"![certificate age per node]({picture.name})"]
    else:
        lines += ["", "(no picture: matplotlib is not installed)"]
    return "\n".join(lines) + "\n"


def _timing(result: dict[str, Any]) -> list[str]:
    """The margin the schedule keeps and what the runs took (real seconds and days)."""
    margin, load = result.get("margin"), result.get("load_average", {})
    if not margin:
        return []
    lines = ["", f"Margin: renew_before is {margin['renew_before_days']} days = "
             f"{margin['windows_in_renew_before']} window periods of "
             f"{margin['window_every_days']} days; an apply every "
             f"{margin['apply_every_days_median']} days (median, longest gap "
             f"{margin['apply_every_days_max']}). Load average (1 min) at the runs: mean "
             f"{load.get('mean')}, max {load.get('max')}. ACME CA: "
             f"{result.get('acme', {}).get('issued', 'n/a')} certificates issued.",
             "", "| command (slot) | runs | median s | 90th pct s | longest s | longest, days |",
             "|---|---|---|---|---|---|"]
    for key, d in result.get("durations", {}).items():
        lines.append(f"| certops {key} | {d['runs']} | {d['median_s']} | {d['p90_s']} | "
                     f"{d['max_s']} | {d['max_days']} |")
    return lines


def plot(path: Path, timeline: dict[str, Any], fired: Sequence[dict[str, Any]],
         t0: float, day_seconds: float, lifetime_days: float = 100) -> Path | None:
    """Certificate age (days) of what each node serves, over the run's days; the dashed
    line is the lifetime (above it: served expired)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    samples = [*timeline["start"], *timeline["samples"]]
    nodes = sorted({s["node"] for s in samples})
    fig, ax = plt.subplots(figsize=(10, 5))
    end = max((s["wall"] for s in samples), default=t0)
    for offset, node in enumerate(nodes):
        xs, ys = _age_curve([s for s in samples if s["node"] == node], t0, end, day_seconds)
        ax.plot(xs, ys, label=node, linewidth=1)
        downs = [(s["wall"] - t0) / day_seconds for s in samples
                 if s["node"] == node and not s["up"] and s["wall"] >= t0]
        ax.plot(downs, [-3 - offset] * len(downs), "|", markersize=6)
    ax.axhline(lifetime_days, color="black", linestyle="--", linewidth=1)
    ax.set_ylim(-4 - len(nodes), lifetime_days * 1.25)
    for f in fired:
        ax.axvline(f["day"], color="red", linestyle=":", linewidth=1)
        ax.text(f["day"], ax.get_ylim()[1] * 0.97, f["fault"], rotation=90, fontsize=7,
                color="red", va="top")
    ax.set_xlabel("simulated day")
    ax.set_ylabel("age of the served certificate (days)")
    ax.set_title("certops soak: certificate age per node (drops: renewals served; "
                 "ticks below 0: node down; red: faults)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _age_curve(seq: Sequence[dict[str, Any]], t0: float, end: float, day_seconds: float,
               ) -> tuple[list[float], list[float]]:
    """Age of the served leaf, sampled at each change and just before the next one."""
    xs: list[float] = []
    ys: list[float] = []
    for here, after in zip(seq, [*seq[1:], None], strict=True):
        start = max(here["wall"], t0)
        stop = after["wall"] if after is not None else end
        if stop < t0:
            continue
        for moment in (start, stop):
            xs.append((moment - t0) / day_seconds)
            ys.append((moment - here["served_not_before"]) / day_seconds)
    return xs, ys
