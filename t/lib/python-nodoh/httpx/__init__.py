# A stand-in that makes "import httpx" fail, for the test helpers only (see t/lib/python-nodoh/README).
raise ImportError("httpx is disabled in the test helpers (t/lib/python-nodoh)")
