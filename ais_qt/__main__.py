import sys

from ais_qt.cli import main

if __name__ == "__main__":  # the 3D renderer's spawned process imports this module too
    sys.exit(main())
