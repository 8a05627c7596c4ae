import sys

from gru_viz.cli import main

sys.exit(main())
