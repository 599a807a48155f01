"""spark-submit's entry to gmc's jobs: `spark-submit [options] submit.py JOB ...` runs `gmc spark submit JOB ...`
in the driver spark-submit started (its --master and --conf apply)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from gmc.cli import app

    app(args=["spark", "submit", *sys.argv[1:]], prog_name="gmc")
