#!/usr/bin/env python3
"""Checks the summary `mcptrail demo --summary-json FILE` wrote.

    .ci/check-demo-summary.py .cache/demo/summary.json

Every captured record is stored, nothing was dead-lettered or broke a hash
chain, each of the three attacks drew at least one high or critical
finding, and the ordinary work (and any session outside the scenarios) drew
none. Exits 1 with the reasons otherwise.
"""

import json
import sys

ATTACKS = ("exfiltration", "rug-pull", "token-replay")
HIGH = ("high", "critical")


def problems(s):
    out = []
    captured, stored = s["records_captured"], s["events_stored"]
    if captured <= 0:
        out.append("no records captured")
    if stored != captured:
        out.append(f"{stored} events stored for {captured} records captured")
    for key in ("dead_letters", "chain_problems", "records_left_in_spools", "raw_secrets_stored"):
        if s[key] != 0:
            out.append(f"{key} = {s[key]}")
    if s["verify"]["problems"] != 0 or s["verify"]["exit_code"] != 0:
        out.append(f"mcptrail verify: {s['verify']}")
    caught = {a: 0 for a in ATTACKS}
    for sc in s["scenarios"]:
        high = sum(1 for f in sc["findings"] if f["severity"] in HIGH)
        if high != sc["high_or_critical"]:
            out.append(f"scenario {sc['name']}: high_or_critical {sc['high_or_critical']}, but {high} such findings listed")
        if not sc["sessions"]:
            out.append(f"scenario {sc['name']}: no session stored")
        attack = sc.get("attack", "")
        if attack:
            caught[attack] = caught.get(attack, 0) + high
        elif high:
            rules = sorted({f["rule"] for f in sc["findings"] if f["severity"] in HIGH})
            out.append(f"ordinary scenario {sc['name']}: {high} high or critical findings ({', '.join(rules)})")
    for attack, n in caught.items():
        if attack in ATTACKS and n == 0:
            out.append(f"attack {attack}: no high or critical finding")
    missing = set(ATTACKS) - set(caught)
    if missing:
        out.append(f"attacks not in the summary: {sorted(missing)}")
    for f in s["unattributed_findings"]:
        if f["severity"] in HIGH:
            out.append(f"{f['severity']} finding {f['rule']} on session {f['session']}, outside every scenario")
    if not s["ok"]:
        out.append("the demo itself reported problems: " + "; ".join(s["problems"]))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        s = json.load(f)
    found = problems(s)
    if found:
        print("demo summary check FAILED:", file=sys.stderr)
        for p in found:
            print("  - " + p, file=sys.stderr)
        return 1
    by_attack = {sc["attack"]: sc["high_or_critical"] for sc in s["scenarios"] if sc.get("attack")}
    print(f"demo summary OK: {s['events_stored']} events stored for {s['records_captured']} records, "
          f"{s['findings']} findings, high or critical per attack: {by_attack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
