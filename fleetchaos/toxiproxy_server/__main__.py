import sys

from fleetchaos.toxiproxy_server.server import main

sys.exit(main())
