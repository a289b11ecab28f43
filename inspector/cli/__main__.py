"""`python -m inspector.cli`: the `inspector` command, for a shell without the console script on its PATH."""

import sys

from inspector.cli.program import main

sys.exit(main())
