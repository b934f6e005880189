import sys

from ais_qt.cli import main

sys.exit(main())
