import sys

from fleetchaos_cli.main import main

sys.exit(main())
