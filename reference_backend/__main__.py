import sys

from reference_backend.server import main

sys.exit(main())
