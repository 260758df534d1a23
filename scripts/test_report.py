"""Judge a test run from its logs.

Odoo logs one result line per database ("N failed, N error(s) of N tests when
loading database ...") but may exit 0 with failures. An Odoo run fails when a
test failed or errored, a test was skipped, no test ran, any ERROR or CRITICAL
line was logged (expected errors are muted by the tests), or Odoo exited
non-zero. A check script fails when its last line counts a failure or it
exited non-zero.

Usage:
    test_report.py --odoo LABEL LOG EXIT_CODE [--odoo ...] [--checks LABEL OUTPUT EXIT_CODE ...]

The last line printed sums everything up: "<label> N passed; ... - N passed, N failed".
"""

import argparse
import os
import re
import sys

RESULT_RE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
LEVEL_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (ERROR|CRITICAL) ")
SKIP_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ INFO \S+ \S+: skipped ")
CHECKS_RE = re.compile(r"(\d+) checks passed, (\d+) failed\s*$")


def read_lines(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as log:
        return log.read().splitlines()


def judge_odoo(label, log_path, exit_code):
    """(passed, failed, problems) of an Odoo test run."""
    lines = read_lines(log_path)
    if lines is None:
        return 0, 1, [f"{label}: no log at {log_path}"]
    failed = errors = total = 0
    found = False
    for line in lines:
        match = RESULT_RE.search(line)
        if match:
            found = True
            run_failed, run_errors, run_total = (int(g) for g in match.groups())
            failed, errors, total = failed + run_failed, errors + run_errors, total + run_total
    error_lines = [line for line in lines if LEVEL_RE.match(line)]
    skipped = [line for line in lines if SKIP_RE.match(line)]
    problems = []
    if int(exit_code):
        problems.append(f"{label}: odoo-bin exited with code {exit_code}")
    if not found:
        problems.append(f"{label}: Odoo printed no test result line")
    elif not total:
        problems.append(f"{label}: no test ran")
    if skipped:
        problems.append(f"{label}: {len(skipped)} test(s) skipped")
    if error_lines:
        problems.append(f"{label}: {len(error_lines)} ERROR line(s) logged")
    for line in (error_lines + skipped)[:30]:
        print(line)
    return total - failed - errors, failed + errors, problems


def judge_checks(label, output_path, exit_code):
    lines = read_lines(output_path) or []
    match = next((m for m in map(CHECKS_RE.search, reversed(lines)) if m), None)
    if not match:
        return 0, 1, [f"{label}: no result line in {output_path}"]
    passed, failed = int(match.group(1)), int(match.group(2))
    problems = [f"{label}: exited with code {exit_code}"] if int(exit_code) and not failed else []
    return passed, failed, problems


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--odoo", nargs=3, action="append", default=[], metavar=("LABEL", "LOG", "EXIT_CODE"))
    parser.add_argument("--checks", nargs=3, action="append", default=[], metavar=("LABEL", "OUTPUT", "EXIT_CODE"))
    args = parser.parse_args(argv)
    parts, problems = [], []
    passed = failed = 0
    for judge, runs in ((judge_odoo, args.odoo), (judge_checks, args.checks)):
        for label, path, exit_code in runs:
            run_passed, run_failed, run_problems = judge(label, path, exit_code)
            passed, failed = passed + run_passed, failed + run_failed
            problems += run_problems
            parts.append(f"{label}: {run_passed} passed" + (f", {run_failed} failed" if run_failed else ""))
    if os.environ.get("EXTRA_PROBLEM"):
        problems.append(os.environ["EXTRA_PROBLEM"])
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems and not failed:
        # A run with problems outside the test results still fails as a whole.
        failed = 1
    series = f"Odoo {os.environ['ODOO_SERIES']}: " if os.environ.get("ODOO_SERIES") else ""
    print(f"{series}{'; '.join(parts)} - {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
