"""The summary of a conformance run (conformance/run): per revision and harness, each scenario's checks as the
harness recorded them (RESULTS/<revision>@<harness>/<scenario>/server-<scenario>-<time>/checks.json, and the
harness's exit code in .../<scenario>/rc), judged against the baseline of checks that do not apply.

A check passes (SUCCESS), fails (FAILURE or WARNING: the harness's baseline counts a warning as a failure too),
does not apply (a FAILURE the baseline lists), or is informational (INFO, SKIPPED: the harness found nothing to
judge). Exit status 1 when any scenario failed a check, produced no results (the harness skipped it as not
applicable at that revision) or exited non-zero.

    python conformance/summary.py RESULTS conformance/expected-failures.yaml
"""

import json
import re
import sys
from pathlib import Path

ENTRY = re.compile(r"^\s*-\s*([A-Za-z0-9_./-]+)(?::([A-Za-z0-9_.-]+))?\s*(?:#.*)?$")


def baseline(path):
    """{(scenario, check id)} of the baseline file (the harness's `- scenario:check-id` lines)."""
    entries = set()
    for line in Path(path).read_text().splitlines():
        match = ENTRY.match(line)
        if match:
            entries.add((match[1], match[2]))
    return entries


def judge(scenario, checks, expected):
    counts = {"passed": 0, "failed": 0, "not applicable": 0, "info": 0}
    failures = []
    for check in checks:
        status = check.get("status")
        if status == "SUCCESS":
            counts["passed"] += 1
        elif status in ("FAILURE", "WARNING"):
            if status == "FAILURE" and ((scenario, check["id"]) in expected or (scenario, None) in expected):
                counts["not applicable"] += 1
            else:
                counts["failed"] += 1
                failures.append(f"{status} {check['id']}: {check.get('errorMessage') or check.get('description')}")
        else:
            counts["info"] += 1
    return counts, failures


def main(results, baseline_path):
    expected = baseline(baseline_path)
    totals = {"passed": 0, "failed": 0, "not applicable": 0, "info": 0}
    broken = []
    for run in sorted(Path(results).iterdir()):
        if not run.is_dir():
            continue
        revision, _, harness = run.name.partition("@")
        print(f"== {revision}, harness {harness}")
        for scenario_dir in sorted(path for path in run.iterdir() if path.is_dir()):
            scenario = scenario_dir.name
            rc_file = scenario_dir / "rc"
            rc = rc_file.read_text().strip() if rc_file.exists() else "?"
            found = sorted(scenario_dir.glob("server-*/checks.json"))
            if not found:
                print(f"  ✗ {scenario}: no results (the harness did not run it at {revision}; exit {rc})")
                broken.append(f"{run.name} {scenario}: no results")
                continue
            counts, failures = judge(scenario, json.loads(found[-1].read_text()), expected)
            for name in totals:
                totals[name] += counts[name]
            bad = counts["failed"] or rc != "0"
            extra = "".join(f", {counts[name]} {name}" for name in ("not applicable", "info") if counts[name])
            print(f"  {'✗' if bad else '✓'} {scenario}: {counts['passed']} passed, {counts['failed']} failed{extra}"
                  + (f" (harness exit {rc})" if rc != "0" else ""))
            for failure in failures:
                print(f"      {failure}")
            if bad:
                broken.append(f"{run.name} {scenario}")
    print(f"conformance: {totals['passed']} passed, {totals['failed']} failed")
    print(f"  ({totals['not applicable']} checks not applicable per {baseline_path}, {totals['info']} informational)")
    if broken:
        print("failing: " + "; ".join(broken))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
