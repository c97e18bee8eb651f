import sys

from lstm_viz.io.cli import main

sys.exit(main())
