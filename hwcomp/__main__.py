import sys

from hwcomp.cli import main

sys.exit(main())
