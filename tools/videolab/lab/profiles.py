"""Bandwidth profiles: loading, validation, and spreading N sessions over the matrix."""

import json


def load(path):
    with open(path) as f:
        doc = json.load(f)
    errors, out = [], []
    for i, p in enumerate(doc.get("profiles", [])):
        name = p.get("name") or f"#{i}"
        steps = p.get("down_mbit")
        steps = [steps] if isinstance(steps, (int, float)) else steps
        if not steps or not all(isinstance(s, (int, float)) and s > 0 for s in steps):
            errors.append(f"{name}: down_mbit must be a positive number or a list of them")
            continue
        period = p.get("period_s", 0)
        if len(steps) > 1 and not (isinstance(period, (int, float)) and period > 0):
            errors.append(f"{name}: a list down_mbit needs period_s > 0")
            continue
        up = p.get("up_mbit", max(steps))
        out.append({"name": name, "down_mbit": steps, "period_s": period if len(steps) > 1
                    else None, "up_mbit": up, "mean_mbit": sum(steps) / len(steps)})
    if not out and not errors:
        errors.append("no profiles")
    if errors:
        raise ValueError(f"{path}: " + "; ".join(errors))
    # Lowest to highest (mean) bandwidth: sessions are spread along this order.
    return sorted(out, key=lambda p: (p["mean_mbit"], p["name"]))


def spread(profiles, n):
    """n picks from the sorted list, evenly from the lowest to the highest (both included);
    n=1 picks the lowest; n larger than the list repeats profiles."""
    m = len(profiles)
    if n <= 1:
        return profiles[:n]
    return [profiles[round(i * (m - 1) / (n - 1))] for i in range(n)]
