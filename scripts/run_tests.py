"""Run the test suite; exit non-zero on failures and on zero collected tests (pytest exit 5)."""

import subprocess
import sys

EXIT_NO_TESTS = 5

if __name__ == "__main__":
    cmd = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    code = subprocess.call(cmd)
    if code == EXIT_NO_TESTS:
        print("run_tests: pytest collected no tests; failing", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)
