import sys

from fleetchaos.cli.main import main

sys.exit(main())
