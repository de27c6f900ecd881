import sys

from toxiproxy_server.server import main

sys.exit(main())
