#!/usr/bin/env python3
"""Compose the demo recording e2e/opensky-demo/NNNNNN.json: 30 OpenSky `/states/all` responses, 30 s apart, for the
Swiss bounding box (lamin 45.8389, lomin 5.9962, lamax 47.8229, lomax 10.5226) — what `e2e/run.sh --replay` feeds the
pipeline so that the flights map shows traffic without the live API.

It is synthetic, not recorded: state vectors in the documented format (shared/docs/OPENSKY.md: 17 fields, `time` the
clock), generated from a fixed seed so the files never change: airliners crossing the box at cruise level, some
climbing out of or descending into Zurich and Geneva, aircraft on the ground at both airports, a few entering or
leaving the box. An aircraft that leaves does so more than 6 minutes before the last response or not at all, so after
the replay (opensky-poller deletes aircraft absent for more than --stale-after, 5 min) `final.flights` holds exactly the
aircraft of the last response — what the one-command test checks.

    python3 e2e/opensky-demo/make_demo.py   # rewrites the files next to this script
"""
import json
import math
import os
import random

BBOX = (45.8389, 5.9962, 47.8229, 10.5226)  # lamin, lomin, lamax, lomax
T0 = 1767258000  # 2026-01-01T09:00:00Z
POLLS = 30
STEP = 30
AIRPORTS = {"ZRH": (47.4582, 8.5555), "GVA": (46.2381, 6.1090)}
OPERATORS = [  # callsign prefix, icao24 prefix, country
    ("SWR", "4b1", "Switzerland"), ("EZS", "4b0", "Switzerland"), ("EDW", "4b4", "Switzerland"),
    ("DLH", "3c6", "Germany"), ("EWG", "3c4", "Germany"), ("AFR", "39e", "France"), ("EJU", "440", "Austria"),
    ("BAW", "406", "United Kingdom"), ("KLM", "484", "Kingdom of the Netherlands"), ("AUA", "440", "Austria"),
    ("ITY", "33f", "Italy"), ("UAE", "896", "United Arab Emirates"), ("RYR", "4ca", "Ireland"),
    ("UAL", "a1f", "United States"),
]
rng = random.Random(20260101)
T_END = T0 + (POLLS - 1) * STEP


def inside(lat, lon):
    return BBOX[0] <= lat <= BBOX[2] and BBOX[1] <= lon <= BBOX[3]


def move(lat, lon, track, dist_m):
    lat2 = lat + dist_m * math.cos(math.radians(track)) / 111_320
    lon2 = lon + dist_m * math.sin(math.radians(track)) / (111_320 * math.cos(math.radians(lat)))
    return lat2, lon2


def squawk():
    return "".join(str(rng.randrange(8)) for _ in range(4))


used = set()


def identity():
    while True:
        cs, prefix, country = rng.choice(OPERATORS)
        icao = prefix + "".join(rng.choice("0123456789abcdef") for _ in range(6 - len(prefix)))
        callsign = f"{cs}{rng.randrange(1, 9999)}"
        if icao not in used:
            used.add(icao)
            return icao, callsign, country


def track_of(kind):
    """One aircraft: a list of (poll index, state vector) for the polls it is seen in, or None to retry."""
    icao, callsign, country = identity()
    seen = []
    if kind == "ground":
        lat0, lon0 = AIRPORTS[rng.choice(list(AIRPORTS))]
        lat, lon = lat0 + rng.uniform(-0.006, 0.006), lon0 + rng.uniform(-0.008, 0.008)
        track = rng.choice([0.0, 90.0, 140.0, 280.0])
        speed = rng.choice([0.0, 0.0, 4.1, 7.7])
        for i in range(POLLS):
            lat, lon = move(lat, lon, track, speed * STEP * 0.2)
            seen.append((i, dict(lat=lat, lon=lon, alt=None, ground=True, v=speed, track=track, vr=None)))
        return icao, callsign, country, seen
    if kind in ("climb", "descend"):
        lat, lon = AIRPORTS[rng.choice(list(AIRPORTS))]
        track = rng.uniform(0, 360)
        alt, v = (600.0, 85.0) if kind == "climb" else (rng.uniform(5000, 9000), 190.0)
        if kind == "descend":  # start out along the reverse course so that it lands
            lat, lon = move(lat, lon, track, alt / 4.0 * 30)
            track = (track + 180) % 360
        vr = 9.5 if kind == "climb" else -7.0
        start = rng.randrange(0, POLLS // 2)
        for i in range(start, POLLS):
            if inside(lat, lon):
                seen.append((i, dict(lat=lat, lon=lon, alt=round(alt, 2), ground=False, v=round(v, 1),
                                     track=round(track, 2), vr=vr)))
            alt = min(11_000.0, alt + vr * STEP) if kind == "climb" else alt + vr * STEP
            if kind == "descend" and alt < 450:
                break  # landed: no longer reported airborne; on the ground it is another state (left out)
            v = min(240.0, v + 10) if kind == "climb" else max(75.0, v - 8)
            lat, lon = move(lat, lon, track, v * STEP)
        return icao, callsign, country, seen
    # cruise: start anywhere in the box (or at its edge, entering later), fly straight
    alt = rng.choice([9_449.0, 10_058.0, 10_668.0, 11_278.0, 11_887.0, 12_192.0])
    v = rng.uniform(205, 255)
    track = rng.uniform(0, 360)
    enter = rng.random() < 0.25
    start = rng.randrange(1, POLLS // 2) if enter else 0
    lat, lon = rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3])
    if enter:  # back-track to the edge
        while inside(*move(lat, lon, (track + 180) % 360, v * STEP)):
            lat, lon = move(lat, lon, (track + 180) % 360, v * STEP)
    for i in range(start, POLLS):
        if not inside(lat, lon):
            break
        seen.append((i, dict(lat=lat, lon=lon, alt=round(alt, 2), ground=False, v=round(v, 1),
                             track=round(track, 2), vr=0.0)))
        lat, lon = move(lat, lon, track, v * STEP)
    return icao, callsign, country, seen


def acceptable(seen):
    if not seen:
        return False
    last = seen[-1][0]
    # gone for good more than 6 minutes before the end, or still there at the end
    return last == POLLS - 1 or T0 + last * STEP < T_END - 360


aircraft = []
for kind, n in [("cruise", 34), ("climb", 6), ("descend", 6), ("ground", 8)]:
    made = 0
    while made < n:
        a = track_of(kind)
        if acceptable(a[3]):
            aircraft.append((a, squawk(), rng.randrange(0, 4)))
            made += 1
        else:
            used.discard(a[0])

here = os.path.dirname(os.path.abspath(__file__))
for f in os.listdir(here):
    if f.endswith(".json"):
        os.remove(os.path.join(here, f))
for i in range(POLLS):
    t = T0 + i * STEP
    states = []
    for (icao, callsign, country, seen), sq, lag in aircraft:
        s = dict(seen).get(i)
        if s is None:
            continue
        tpos = t - lag
        geo = None if s["alt"] is None else round(s["alt"] + 152.4, 2)
        states.append([icao, f"{callsign:<8}", country, tpos, tpos, round(s["lon"], 4), round(s["lat"], 4), s["alt"],
                       s["ground"], s["v"], s["track"], s["vr"], None, geo, sq, False, 0])
    states.sort(key=lambda s: s[0])
    body = json.dumps({"time": t, "states": states}, separators=(",", ":"))
    with open(os.path.join(here, f"{i + 1:06}.json"), "w") as out:
        out.write(body.replace("],[", "],\n[").replace('"states":[[', '"states":[\n[') + "\n")
print(f"{POLLS} responses, {len(aircraft)} aircraft, {sum(len(a[0][3]) for a in aircraft)} state vectors")
