"""Child process for the locking tests: hold the project's write lock for a while, announced
as an activity, as a long write of another ethoscout process would."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ethoscout.core.data.dbfile import announce, connect

folder, activity, seconds = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
conn = connect(folder / "project.sqlite")
with announce(folder, activity):
    conn.execute("BEGIN IMMEDIATE")
    print("holding", flush=True)
    time.sleep(seconds)
    conn.execute("COMMIT")
conn.close()
