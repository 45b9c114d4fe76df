#!/usr/bin/env python3
"""Browser check of the flights map page (hudi-sink/assets/flights.html).

    map_check.py URL EXPECTED_MARKERS OUT_DIR [--expect-on-ground N] [--budget-ms MS]
    map_check.py --selftest OUT_DIR

Runs Debian's Chromium headless (binary from $CHROMIUM, else `chromium`, else
`chromium-browser`) twice against URL (e.g. http://127.0.0.1:PORT/flights.html):

1. ``--dump-dom`` after a virtual-time budget: the rendered DOM is parsed
   (stdlib HTMLParser); it checks that <body> has data-status="ok", that the number of
   elements whose class contains ``aircraft`` equals data-markers and EXPECTED_MARKERS,
   and that their data-icao24 values are distinct, and that country outlines were drawn
   (world.geojson served beside the page);
2. ``--screenshot=OUT_DIR/flights-map.png``: the screenshot is kept as a test artefact;
   it checks the file is a PNG of a few KB at least and, decoding it with zlib, that it
   is not a blank picture (enough distinct colours, no colour covering nearly all of it).

Chromium gets a fresh --user-data-dir in a temporary directory and is kept off the
network: no proxy, no background/component/sync traffic, and a host resolver rule
that resolves nothing but localhost / 127.0.0.1 / [::1].  (Checked with strace: the
only TCP connections go to 127.0.0.1; Chromium's one outside-looking call is its IPv6
reachability probe, a connect() on a UDP socket that sends no packet.)

``--selftest OUT_DIR`` serves hudi-sink/assets plus tests/data/flights_map/api_flights.json
(as api/flights, its timestamps moved to now) on 127.0.0.1 and checks that page,
so the page can be checked without the pipeline.

Prints one JSON line (the summary); exits 0 when every check passes, 1 (with the
reason on stderr and in the JSON's "error") otherwise, 2 on bad usage.
Python 3 standard library only.
"""

import argparse
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

WINDOW = "1280,900"
MIN_PNG_BYTES = 5000

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--window-size=" + WINDOW,
    "--hide-scrollbars",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider",
    "--metrics-recording-only",
    "--mute-audio",
    "--password-store=basic",
    "--use-mock-keychain",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
]


class Failure(Exception):
    pass


def find_chromium():
    cands = [os.environ.get("CHROMIUM"), "chromium", "chromium-browser"]
    for c in cands:
        if not c:
            continue
        p = shutil.which(c) if not os.path.isabs(c) else (c if os.access(c, os.X_OK) else None)
        if p:
            return p
    raise Failure("no Chromium found: set $CHROMIUM or install Debian's `chromium` package "
                  "(apt-get install -y --no-install-recommends chromium)")


def run_chromium(chromium, extra, url, timeout):
    with tempfile.TemporaryDirectory(prefix="map-check-profile-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, "--user-data-dir=" + profile, *extra, url]
        env = dict(os.environ)
        # Chromium's crash handler and dbus lookups want these; keep them inside the temp dir.
        env.setdefault("HOME", profile)
        env["XDG_CONFIG_HOME"] = os.path.join(profile, "xdg-config")
        env["XDG_CACHE_HOME"] = os.path.join(profile, "xdg-cache")
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise Failure(f"chromium timed out after {timeout}s: {' '.join(cmd)}")
        if p.returncode != 0:
            tail = p.stderr.decode(errors="replace").strip().splitlines()[-15:]
            raise Failure(f"chromium exited {p.returncode}: {' '.join(cmd)}\n" + "\n".join(tail))
        return p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), cmd


class DomScan(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.body = None
        self.markers = []   # (icao24, on_ground)
        self.countries = 0
        self.error_text = []
        self._in_error = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and self.body is None:
            self.body = a
        classes = (a.get("class") or "").split()
        if "country" in classes:
            self.countries += 1
        if "aircraft" in classes:
            self.markers.append((a.get("data-icao24"), "on-ground" in classes))
        if a.get("id") == "error":
            self._in_error = 1
        elif self._in_error:
            self._in_error += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._in_error:
            self._in_error -= 1

    def handle_endtag(self, tag):
        if self._in_error:
            self._in_error -= 1

    def handle_data(self, data):
        if self._in_error:
            self.error_text.append(data)


def png_stats(path):
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) with zlib; return
    (width, height, distinct colours, share of the most common colour)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Failure(f"{path}: not a PNG file")
    pos, idat, ihdr = 8, [], None
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
        pos += 12 + n
    if not ihdr:
        raise Failure(f"{path}: PNG without IHDR")
    w, h, depth, ctype, _, _, interlace = ihdr
    bpp = {2: 3, 6: 4}.get(ctype)
    if depth != 8 or bpp is None or interlace:
        raise Failure(f"{path}: unexpected PNG format (depth {depth}, colour type {ctype}, interlace {interlace})")
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise Failure(f"{path}: PNG data has {len(raw)} bytes, expected {h * (stride + 1)}")
    prev = bytearray(stride)
    counts = {}
    step_px = 3  # sample every 3rd pixel of every 3rd row for the colour statistics
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ft == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 0xFF
        elif ft != 0:
            raise Failure(f"{path}: bad PNG filter type {ft} in row {y}")
        if y % step_px == 0:
            for x in range(0, w, step_px):
                px = bytes(line[x * bpp:x * bpp + 3])
                counts[px] = counts.get(px, 0) + 1
        prev = line
    total = sum(counts.values())
    return w, h, len(counts), max(counts.values()) / total


def check(url, expected, out_dir, expect_on_ground=None, budget_ms=10000, timeout=120, summary=None):
    """Run both Chromium passes; fill and return `summary`, raise Failure on a mismatch."""
    summary = {} if summary is None else summary
    summary.update({"url": url, "expected_markers": expected, "ok": False})
    os.makedirs(out_dir, exist_ok=True)
    chromium = find_chromium()
    summary["chromium"] = chromium
    vt = "--virtual-time-budget=%d" % budget_ms

    dom, _, _ = run_chromium(chromium, ["--dump-dom", vt], url, timeout)
    with open(os.path.join(out_dir, "flights-map.dom.html"), "w", encoding="utf-8") as f:
        f.write(dom)
    scan = DomScan()
    scan.feed(dom)
    scan.close()
    if scan.body is None:
        raise Failure(f"no <body> in the DOM chromium dumped for {url} ({len(dom)} bytes)")
    status = scan.body.get("data-status")
    data_markers = scan.body.get("data-markers")
    icaos = [m[0] for m in scan.markers]
    on_ground = sum(1 for m in scan.markers if m[1])
    summary.update({
        "status": status, "data_markers": data_markers, "markers": len(scan.markers),
        "on_ground": on_ground, "data_flights": scan.body.get("data-flights"),
        "countries": scan.countries,
        "icao24": sorted(i or "" for i in icaos),
    })

    def dom_checks():
        if status != "ok":
            msg = " ".join("".join(scan.error_text).split())
            raise Failure(f'page status is {status!r}, not "ok"' + (f": {msg}" if msg else ""))
        if data_markers is None or not data_markers.isdigit() or int(data_markers) != len(scan.markers):
            raise Failure(f"body data-markers={data_markers!r} but {len(scan.markers)} .aircraft elements drawn")
        if len(scan.markers) != expected:
            raise Failure(f"{len(scan.markers)} aircraft markers drawn, expected {expected}")
        if any(not i for i in icaos) or len(set(icaos)) != len(icaos):
            raise Failure(f"aircraft markers lack data-icao24 or repeat one: {icaos}")
        if scan.countries == 0:
            raise Failure("no country outlines drawn: is world.geojson served beside the page? "
                          f"(body data-world={scan.body.get('data-world')!r})")
        if expect_on_ground is not None and on_ground != expect_on_ground:
            raise Failure(f"{on_ground} on-ground markers drawn, expected {expect_on_ground}")

    try:
        dom_checks()
        dom_failure = None
    except Failure as e:
        dom_failure = e

    png = os.path.join(out_dir, "flights-map.png")
    if os.path.exists(png):
        os.remove(png)
    try:
        run_chromium(chromium, ["--screenshot=" + png, vt], url, timeout)
    except Failure:
        if dom_failure:  # the first failure is the one to report
            raise dom_failure
        raise
    if dom_failure:
        # the screenshot of a failing page is kept too, to see what went wrong
        if os.path.exists(png):
            summary["screenshot"] = png
        raise dom_failure
    if not os.path.exists(png):
        raise Failure(f"chromium wrote no screenshot to {png}")
    size = os.path.getsize(png)
    summary.update({"screenshot": png, "screenshot_bytes": size})
    if size < MIN_PNG_BYTES:
        raise Failure(f"screenshot {png} has only {size} bytes")
    w, h, colours, top_share = png_stats(png)
    summary.update({"screenshot_size": [w, h], "colours_sampled": colours,
                    "top_colour_share": round(top_share, 3)})
    if colours < 16 or top_share > 0.95:
        raise Failure(f"screenshot {png} looks blank: {colours} colours, "
                      f"the commonest covers {top_share:.0%}")
    summary["ok"] = True
    return summary


def selftest(out_dir, summary=None):
    """Serve the page with the fixture on 127.0.0.1 and check it."""
    import http.server
    import threading

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    assets = os.path.join(root, "hudi-sink", "assets")
    with open(os.path.join(root, "tests", "data", "flights_map", "api_flights.json")) as f:
        doc = json.load(f)
    shift = int(time.time()) - doc["newest_event_ms"] // 1000 - 3
    doc["newest_event_ms"] += shift * 1000
    doc["generated_ms"] += shift * 1000
    for fl in doc["flights"]:
        for k in ("last_contact", "time_position"):
            if fl.get(k) is not None:
                fl[k] += shift
    expected = sum(1 for fl in doc["flights"]
                   if fl.get("longitude") is not None and fl.get("latitude") is not None)
    ground = sum(1 for fl in doc["flights"] if fl.get("on_ground")
                 and fl.get("longitude") is not None and fl.get("latitude") is not None)
    with tempfile.TemporaryDirectory(prefix="map-check-site-") as site:
        for name in ("flights.html", "world.geojson"):
            shutil.copy(os.path.join(assets, name), site)
        os.mkdir(os.path.join(site, "api"))
        with open(os.path.join(site, "api", "flights"), "w") as f:
            json.dump(doc, f)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=site, **kw)

            def guess_type(self, path):
                if path.endswith("/api/flights") or path.endswith(".geojson"):
                    return "application/json"
                return super().guess_type(path)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            url = "http://127.0.0.1:%d/flights.html" % srv.server_address[1]
            return check(url, expected, out_dir, expect_on_ground=ground, summary=summary)
        finally:
            srv.shutdown()
            srv.server_close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("args", nargs="+", help="URL EXPECTED_MARKERS OUT_DIR, or OUT_DIR with --selftest")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--expect-on-ground", type=int)
    ap.add_argument("--budget-ms", type=int, default=10000, help="virtual time budget (default 10000)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per chromium run (default 120)")
    a = ap.parse_args(argv)
    summary = {"ok": False}
    try:
        if a.selftest:
            if len(a.args) != 1:
                ap.error("--selftest takes OUT_DIR only")
            selftest(a.args[0], summary=summary)
        else:
            if len(a.args) != 3 or not a.args[1].isdigit():
                ap.error("expected URL EXPECTED_MARKERS OUT_DIR")
            check(a.args[0], int(a.args[1]), a.args[2], a.expect_on_ground,
                  a.budget_ms, a.timeout, summary=summary)
    except Failure as e:
        summary["error"] = str(e).splitlines()[0]
        print(json.dumps(summary, sort_keys=True))
        print("map_check: FAIL: " + str(e), file=sys.stderr)
        return 1
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
