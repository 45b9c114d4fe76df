#!/usr/bin/env python3
"""Build hudi-sink/assets/world.geojson (country outlines for the flights map).

Source
------
Natural Earth "Admin 0 - Countries", 1:50m, version 4.1.0, as redistributed
in TopoJSON by the npm package ``world-atlas`` version 2.0.2, file
``package/countries-50m.json`` inside the package tarball
``world-atlas-2.0.2.tgz`` (sha256
032e7765f2ce00edaeafec23ff22bc3b77e42987c257da944cc585b452c05b97).

Licences: Natural Earth data is in the public domain
(https://www.naturalearthdata.com/about/terms-of-use/); the world-atlas
packaging is ISC-licensed, Copyright 2013-2019 Michael Bostock.  See
README.md beside this file.

Exact commands (run from the repository root; only the npm registry is used)::

    cd "$(mktemp -d)" && npm pack world-atlas@2.0.2 && cd -
    python3 hudi-sink/assets/make_world.py /tmp/tmp.XXXX/world-atlas-2.0.2.tgz \
        -o hudi-sink/assets/world.geojson

``SOURCE`` may also be the extracted ``countries-50m.json``.

What it does (stdlib only)
--------------------------
* decodes the quantized, delta-encoded TopoJSON arcs to longitude/latitude;
* simplifies each *arc* (not each ring, so shared borders stay identical on
  both sides) with Douglas-Peucker: a tolerance of ``--detail-tolerance``
  degrees for arcs that touch the ``--detail-bbox`` (Europe by default: the
  map's default bounding box is Switzerland), ``--tolerance`` elsewhere;
* stitches arcs into rings; cuts the rings that cross the antimeridian
  (Russia, Fiji, Antarctica: world-atlas stitches them for spherical
  rendering) into pieces inside -180..180 so a flat map draws them right;
* drops rings that collapsed, rounds coordinates to ``--decimals`` places and
  writes a compact GeoJSON FeatureCollection whose features carry only the
  property ``name``.

Output is deterministic for a given source and options.
"""

import argparse
import io
import json
import math
import sys
import tarfile

MEMBER = "package/countries-50m.json"


def load_topology(source):
    if source.endswith((".tgz", ".tar.gz")):
        with tarfile.open(source, "r:gz") as tar:
            raw = tar.extractfile(MEMBER).read()
        return json.load(io.BytesIO(raw))
    with open(source, "rb") as f:
        return json.load(f)


def decode_arcs(topo):
    tr = topo.get("transform")
    arcs = []
    for arc in topo["arcs"]:
        if tr:
            (sx, sy), (tx, ty) = tr["scale"], tr["translate"]
            x = y = 0
            pts = []
            for dx, dy in arc:
                x += dx
                y += dy
                pts.append((x * sx + tx, y * sy + ty))
        else:
            pts = [(p[0], p[1]) for p in arc]
        arcs.append(pts)
    return arcs


def _seg_dist2(p, a, b):
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        return (px - ax) ** 2 + (py - ay) ** 2
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = max(0.0, min(1.0, t))
    qx, qy = ax + t * dx, ay + t * dy
    return (px - qx) ** 2 + (py - qy) ** 2


def douglas_peucker(pts, tol):
    """Keep the end points (they are arc junctions), simplify the rest."""
    if tol <= 0 or len(pts) < 3:
        return list(pts)
    tol2 = tol * tol
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    # A closed arc (first == last) would make every distance relative to a
    # point; split it at its farthest point first.
    stack = []
    if pts[0] == pts[-1]:
        far = max(range(1, len(pts) - 1),
                  key=lambda i: (pts[i][0] - pts[0][0]) ** 2 + (pts[i][1] - pts[0][1]) ** 2)
        keep[far] = True
        stack += [(0, far), (far, len(pts) - 1)]
    else:
        stack.append((0, len(pts) - 1))
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        best, idx = -1.0, -1
        a, b = pts[i], pts[j]
        for k in range(i + 1, j):
            d = _seg_dist2(pts[k], a, b)
            if d > best:
                best, idx = d, k
        if best > tol2:
            keep[idx] = True
            stack += [(i, idx), (idx, j)]
    out = [p for p, k in zip(pts, keep) if k]
    if pts[0] == pts[-1] and len(out) < 5:
        # a small island: keep it as it is rather than let it collapse
        return list(pts)
    return out


def touches(pts, box):
    lomin, lamin, lomax, lamax = box
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return not (max(xs) < lomin or min(xs) > lomax or max(ys) < lamin or min(ys) > lamax)


def ring_area(ring):
    a = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        a += x1 * y2 - x2 * y1
    return a / 2


def clip_half(ring, x0, keep_greater):
    """Sutherland-Hodgman: clip a closed ring to x >= x0 (or x <= x0)."""
    def ins(p):
        return p[0] >= x0 if keep_greater else p[0] <= x0

    out = []
    pts = ring[:-1]
    for i, cur in enumerate(pts):
        prev = pts[i - 1]
        if ins(cur):
            if not ins(prev):
                t = (x0 - prev[0]) / (cur[0] - prev[0])
                out.append((x0, prev[1] + t * (cur[1] - prev[1])))
            out.append(cur)
        elif ins(prev):
            t = (x0 - prev[0]) / (cur[0] - prev[0])
            out.append((x0, prev[1] + t * (cur[1] - prev[1])))
    if out:
        out.append(out[0])
    return out


def split_antimeridian(ring):
    """Rings of world-atlas are stitched for spherical rendering: Russia, Fiji and
    Antarctica jump between +180 and -180.  For a flat map, unwrap the longitudes,
    close rings that go round a pole along that pole, and cut the result into
    pieces inside [-180, 180]."""
    if not any(abs(a[0] - b[0]) > 180 for a, b in zip(ring, ring[1:])):
        return [ring]
    u = [tuple(ring[0])]
    for x, y in ring[1:]:
        px = u[-1][0]
        while x - px > 180:
            x -= 360
        while x - px < -180:
            x += 360
        u.append((x, y))
    if abs(u[-1][0] - u[0][0]) > 180:  # goes round a pole
        ys = [p[1] for p in u]
        if max(ys) - min(ys) < 0.01:
            return []  # a line along the pole itself
        pole = -90.0 if sum(ys) < 0 else 90.0
        u = u + [(u[-1][0], pole), (u[0][0], pole), u[0]]
    lo, hi = min(p[0] for p in u), max(p[0] for p in u)
    pieces = []
    for k in (-360, 0, 360):
        if hi + k <= -180 or lo + k >= 180:
            continue
        r = [(x + k, y) for x, y in u]
        r = clip_half(r, -180.0, True)
        r = clip_half(r, 180.0, False) if r else r
        if len(r) >= 4:
            pieces.append(r)
    return pieces


def build(topo, tolerance, detail_tolerance, detail_box, decimals):
    arcs = decode_arcs(topo)
    simple = [
        douglas_peucker(a, detail_tolerance if touches(a, detail_box) else tolerance)
        for a in arcs
    ]

    def rnd(p):
        return [round(p[0], decimals), round(p[1], decimals)]

    def ring(indexes):
        """The ring's pieces (usually one); a ring that collapsed when simplified
        is taken unsimplified."""
        return ring_from(simple, indexes) or ring_from(arcs, indexes)

    def ring_from(source, indexes):
        out = []
        for i in indexes:
            pts = source[i] if i >= 0 else source[~i][::-1]
            if out:
                pts = pts[1:]  # first point repeats the previous arc's last
            out.extend(pts)
        pieces = []
        for piece in split_antimeridian(out):
            # round and drop consecutive duplicates produced by rounding
            res = []
            for p in piece:
                q = rnd(p)
                if not res or res[-1] != q:
                    res.append(q)
            if len(res) >= 4 and res[0] == res[-1] and ring_area(res) != 0:
                pieces.append(res)
        return pieces

    def polygon(rings):
        outers = ring(rings[0])
        holes = [h for r in rings[1:] for h in ring(r)]
        polys = [[o] for o in outers]
        for h in holes:
            for poly in polys:
                o = poly[0]
                if (min(p[0] for p in o) <= h[0][0] <= max(p[0] for p in o)
                        and min(p[1] for p in o) <= h[0][1] <= max(p[1] for p in o)):
                    poly.append(h)
                    break
        return polys

    features = []
    for g in topo["objects"]["countries"]["geometries"]:
        name = (g.get("properties") or {}).get("name", "")
        if g["type"] == "Polygon":
            polys = polygon(g["arcs"])
        elif g["type"] == "MultiPolygon":
            polys = [q for p in g["arcs"] for q in polygon(p)]
        else:
            continue
        if not polys:
            continue
        if len(polys) == 1:
            geom = {"type": "Polygon", "coordinates": polys[0]}
        else:
            geom = {"type": "MultiPolygon", "coordinates": polys}
        features.append({"type": "Feature", "properties": {"name": name}, "geometry": geom})
    features.sort(key=lambda f: f["properties"]["name"])
    return {"type": "FeatureCollection", "features": features}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", help="world-atlas-2.0.2.tgz or its countries-50m.json")
    ap.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    ap.add_argument("--decimals", type=int, default=3)
    ap.add_argument("--tolerance", type=float, default=0.04,
                    help="Douglas-Peucker tolerance in degrees outside the detail box")
    ap.add_argument("--detail-tolerance", type=float, default=0.004,
                    help="Douglas-Peucker tolerance in degrees inside the detail box")
    ap.add_argument("--detail-bbox", default="-12,34,32,62",
                    help="lomin,lamin,lomax,lamax of the area kept in more detail")
    a = ap.parse_args(argv)
    box = tuple(float(v) for v in a.detail_bbox.split(","))
    fc = build(load_topology(a.source), a.tolerance, a.detail_tolerance, box, a.decimals)
    text = json.dumps(fc, separators=(",", ":"), ensure_ascii=False) + "\n"
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(text)
    npts = sum(
        len(r)
        for f in fc["features"]
        for poly in ([f["geometry"]["coordinates"]] if f["geometry"]["type"] == "Polygon"
                     else f["geometry"]["coordinates"])
        for r in poly
    )
    print(f"{len(fc['features'])} features, {npts} points, {len(text.encode())} bytes",
          file=sys.stderr)


if __name__ == "__main__":
    main()
