import sys

from kanalvakt.cli import main

sys.exit(main())
