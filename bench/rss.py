"""Run the backend-review CLI in this process and print its own peak RSS (not semgrep's).

    python bench/rss.py OUTFILE scan PATH ...
"""
import resource
import sys

from backend_review.cli import main

out = sys.argv[1]
sys.argv = ["backend-review", *sys.argv[2:]]
try:
    main()
except SystemExit:
    pass
finally:
    with open(out, "w") as fh:
        fh.write(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n")
