"""`python -m scimkit ...` is the `scimkit` command."""

import sys

from .cli import main

sys.exit(main())
