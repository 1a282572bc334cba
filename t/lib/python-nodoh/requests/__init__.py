# A stand-in that makes "import requests" fail, for the test helpers only (see t/lib/python-nodoh/README).
raise ImportError("requests is disabled in the test helpers (t/lib/python-nodoh)")
