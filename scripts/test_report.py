"""Judge an Odoo test run from its log.

Odoo logs one result line per database ("N failed, N error(s) of N tests when
loading database ...") but may exit 0 with failures. A run fails when a test
failed or errored, a test was skipped, no test ran, any ERROR or CRITICAL line
was logged (expected errors are muted by the tests), or Odoo exited non-zero.
The last line printed is "N passed, N failed".
"""

import os
import re
import sys

RESULT_RE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
LEVEL_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (ERROR|CRITICAL) ")
SKIP_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ INFO \S+ \S+: skipped ")


def main(log_path, exit_code):
    with open(log_path, encoding="utf-8", errors="replace") as log:
        lines = log.read().splitlines()
    failed = errors = total = 0
    found = False
    for line in lines:
        match = RESULT_RE.search(line)
        if match:
            found = True
            failed, errors, total = (int(g) for g in match.groups())
    error_lines = [line for line in lines if LEVEL_RE.match(line)]
    skipped = [line for line in lines if SKIP_RE.match(line)]
    problems = []
    if int(exit_code):
        problems.append(f"odoo-bin exited with code {exit_code}")
    if not found:
        problems.append("Odoo printed no test result line")
    elif not total:
        problems.append("no test ran")
    if skipped:
        problems.append(f"{len(skipped)} test(s) skipped")
    if error_lines:
        problems.append(f"{len(error_lines)} ERROR line(s) logged")
    if os.environ.get("EXTRA_PROBLEM"):
        problems.append(os.environ["EXTRA_PROBLEM"])
    for line in (error_lines + skipped)[:30]:
        print(line)
    bad = failed + errors
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems and not bad:
        # A run with problems outside the test results still fails as a whole.
        bad = 1
    print(f"{total - failed - errors} passed, {bad} failed")
    return 1 if (bad or problems) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else 0))
