"""``python -m bench [--quick] ...``: the indexing and query benchmark suite."""
import sys

from .index_bench import main

sys.exit(main())
