"""One playback session: link + shaping + server + capture + player -> the session's files."""

import json
import os
import subprocess
import time

from . import capture, cleanup, server
from .netns import CLI_IF, SRV_IF, Link
from .shaping import Schedule, Shaper

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO_NAMES = {"http/1.1": "h1", "h2": "h2", "h3": "h3"}


def run(spec, run_dir, out_dir, log=print):
    """Runs session `spec` (index, name, profile, protocol, video, max_play, snaplen) and writes
    out_dir/{capture.pcap,labels.jsonl,session.json}. Returns the session.json dict."""
    os.makedirs(out_dir, exist_ok=True)
    work = os.path.join(run_dir, spec["name"])
    os.makedirs(work, exist_ok=True)
    prof = spec["profile"]
    t_start = time.time()
    try:
        link = Link(spec["index"]).up()
        down = Shaper(link.srv_ns, SRV_IF)
        down.start(prof["down_mbit"][0])
        Shaper(link.cli_ns, CLI_IF).start(prof["up_mbit"])
        caddy = server.Caddy(link.srv_ns, link.server_ip, os.path.join(run_dir, "www"),
                             os.path.join(run_dir, "certs"), os.path.join(work, "caddy"),
                             spec["protocol"])
        caddy.start()
        pcap = os.path.join(out_dir, "capture.pcap")
        dump = capture.Tcpdump(link.cli_ns, CLI_IF, pcap, spec["snaplen"])
        dump.start()
        sched = Schedule(down, prof["down_mbit"], prof["period_s"])
        sched.begin()
        url = (f"https://{server.HOST}/player/index.html?mpd=/v/{spec['video']}/manifest.mpd"
               f"&max={spec['max_play']}")
        page_json = os.path.join(work, "page.json")
        drive = subprocess.run(
            ["ip", "netns", "exec", link.cli_ns, "node", os.path.join(HERE, "player", "drive.mjs"),
             "--url", url, "--host-rule", f"MAP {server.HOST} {link.server_ip}",
             "--spki", spec["spki"], "--protocol", spec["protocol"],
             "--timeout", str(spec["max_play"] + 120), "--out", page_json,
             "--keylog", os.path.join(out_dir, "tls-keys.log")],
            capture_output=True, text=True, timeout=spec["max_play"] + 180)
        sched.stop()
        dropped = dump.stop()
        qdisc = down.stats()
    finally:
        # Namespaces, qdiscs and processes of this session go now, also on failure.
        cleanup.run_all()
    if drive.returncode not in (0, 3) or not os.path.exists(page_json):
        raise RuntimeError(f"player driver failed ({drive.returncode}): "
                           f"{(drive.stderr or drive.stdout)[-2000:]}")
    page = json.load(open(page_json))
    labels = [{k: s[k] for k in ("t", "state", "height", "bitrate_kbps", "buffer_s",
                                 "position_s", "dl_height", "dropped_frames")}
              for s in page["samples"]]
    with open(os.path.join(out_dir, "labels.jsonl"), "w") as f:
        for s in labels:
            f.write(json.dumps(s) + "\n")
    sess = summarize(spec, link, page, sched.changes, pcap)
    sess["capture"]["kernel_drops"] = dropped
    sess["wall_s"] = round(time.time() - t_start, 1)
    with open(os.path.join(work, "qdisc.txt"), "w") as f:
        f.write(qdisc)
    with open(os.path.join(out_dir, "session.json"), "w") as f:
        json.dump(sess, f, indent=1)
    return sess


def summarize(spec, link, page, changes, pcap):
    # Requests under /player/ were answered locally by the driver, not by the network.
    res = [r for r in page.get("resources") or [] if "/player/" not in r["url"]]
    protos = {}
    for r in res:
        p = PROTO_NAMES.get(r["protocol"], r["protocol"] or "unknown")
        protos[p] = protos.get(p, 0) + 1
    media = [r for r in res if "/v/" in r["url"]]
    media_protos = {}
    for r in media:
        p = PROTO_NAMES.get(r["protocol"], r["protocol"] or "unknown")
        media_protos[p] = media_protos.get(p, 0) + 1
    negotiated = max(media_protos, key=media_protos.get) if media_protos else None
    body_total = sum(r["body"] for r in res)
    abandoned = (page.get("fragments") or {}).get("abandoned_bytes", 0)
    abandoned_total = (page.get("fragments") or {}).get("abandoned_bytes_total", 0)
    tot = capture.payload_totals(pcap, link.server_ip)
    down_bytes = tot["down"]["tcp_payload"] + tot["down"]["udp_payload"]
    first, req = page.get("firstFrameT"), page.get("playRequestT")
    heights = sorted({s["height"] for s in page["samples"] if s["height"]})
    return {
        "session": spec["name"], "video": spec["video"], "protocol": negotiated,
        "protocol_requested": spec["protocol"], "protocols_seen": protos,
        "server_ip": link.server_ip, "client_ip": link.client_ip, "server_name": server.HOST,
        "server_port": 443,
        "profile": {k: spec["profile"][k] for k in ("name", "down_mbit", "period_s", "up_mbit",
                                                     "mean_mbit")},
        "rate_changes": [{"t": round(t, 3), "down_mbit": m} for t, m in changes],
        "play_request_t": req, "first_frame_t": first,
        "startup_delay_s": round(first - req, 3) if first and req else None,
        "stalls": page.get("stalls", []),
        "stall_count": len(page.get("stalls", [])),
        "stall_total_s": round(sum(s["duration_s"] or 0 for s in page.get("stalls", [])), 3),
        "switches": page.get("switches", []),
        "heights_seen": heights,
        "end_reason": page.get("endReason"), "timed_out": page.get("timed_out"),
        "player_error": page.get("error"),
        "fragments": page.get("fragments"),
        "bytes": {
            # Response bodies the browser received over the link (Resource Timing
            # encodedBodySize): all network requests, and those for content (/v/) only.
            "player_body_total": body_total,
            "player_media_body": sum(r["body"] for r in media),
            "requests": len(res),
            # Requests dash.js abandoned (no Resource Timing entry): bytes received up to its
            # last progress event, and their full response sizes. What crossed the wire lies
            # in between (h1 closes the connection; h2/h3 often deliver the whole response).
            "player_abandoned_loaded": abandoned,
            "player_abandoned_total": abandoned_total,
            # Server -> client L4 payload in the capture: TLS records or QUIC packets.
            "capture_down_payload": down_bytes,
            # capture / (bodies + abandoned loaded) and capture / (bodies + abandoned total):
            # equal when nothing was abandoned.
            "capture_over_player": round(down_bytes / (body_total + abandoned), 4)
            if body_total else None,
            "capture_over_player_max": round(down_bytes / (body_total + abandoned_total), 4)
            if body_total else None,
        },
        "capture": {"file": "capture.pcap", "snaplen": spec["snaplen"], **tot},
        "events": page.get("events", []),
        "browser": page.get("browser_version"),
    }
