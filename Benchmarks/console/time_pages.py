#!/usr/bin/env python3
"""Times the console's pages (signed in as an editor over HTTP) and prints one line per page:
median, p95 and max of N loads, after one first load (which may count days not counted yet).
  time_pages.py ADMIN_URL NAME PASSWORD [N]"""
import http.cookiejar
import re
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

admin, name, password = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 20
# The console's cookies are Secure: Python's cookie jar would not send them over http, so they are kept by hand.
cookies = {}


class Opener:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def open(self, url, data=None):
        request = urllib.request.Request(url, data=data, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
        try:
            response = urllib.request.build_opener(self.NoRedirect).open(request, timeout=60)
        except urllib.error.HTTPError as e:
            response = e
        for header in response.headers.get_all("Set-Cookie") or []:
            key, value = header.split(";", 1)[0].split("=", 1)
            cookies[key] = value
        return response


opener = Opener()
form = opener.open(admin + "/console/login").read().decode()
csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
data = urllib.parse.urlencode({"csrf": csrf, "name": name, "password": password}).encode()
signed = opener.open(admin + "/console/login", data=data)
assert signed.status == 303 and "kefu_session" in cookies, (signed.status, list(cookies))

pages = ["overview?days=7", "overview?days=30", "unresolved?days=7", "unresolved?days=30", "rules?days=30", "flows?days=30",
         "sessions", "sessions?text=%E9%80%80%E8%B4%A7", "sessions?rule=shipping-fee", "try", "handoff"]
worst = 0.0
print(f"{'page':34} {'first':>8} {'median':>8} {'p95':>8} {'max':>8}  (ms, {n} loads)")
for page in pages:
    def load():
        start = time.perf_counter()
        r = opener.open(admin + "/console/" + page)
        body = r.read()
        assert r.status == 200 and len(body) > 500, (page, r.status)
        return (time.perf_counter() - start) * 1000
    first = load()
    times = sorted(load() for _ in range(n))
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    worst = max(worst, times[-1])
    print(f"{page:34} {first:8.1f} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")
print(f"slowest load after the first: {worst:.1f} ms")
