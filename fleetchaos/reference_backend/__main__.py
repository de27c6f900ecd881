import sys

from fleetchaos.reference_backend.server import main

sys.exit(main())
