"""Test videos from ffmpeg's built-in sources, encoded once into a DASH ladder and cached.

Each video is a moving synthetic scene plus temporal noise, so every rung really spends its
bitrate (a clean test pattern would compress to a fraction of it and make the bandwidth
profiles meaningless). The cache key is a hash of the full recipe (sources, ladder, segment
length, duration, ffmpeg version), so changing any of them re-encodes into a new directory.
"""

import hashlib
import json
import os
import shutil
import subprocess
import time

FPS = 25
SEG_S = 2
AUDIO_KBPS = 128
# (height, width, video kbit/s): a common VOD ladder, ~0.3 Mbit/s at 240p to 5 Mbit/s at 1080p.
LADDER = [(240, 426, 300), (360, 640, 700), (480, 854, 1200), (720, 1280, 2500),
          (1080, 1920, 5000)]
# Sources are rendered at the size given, then scaled to 1080p and noised: a 1080p life board
# would cost more CPU than the encoder. (mandelbrot was tried and dropped: its zoom made one
# 120 s video take over 20 min to render on two cores.)
VIDEOS = {
    "testsrc": "testsrc2=size=1920x1080:rate={fps},hue=H=t/4",
    "life": "life=size=480x270:rate={fps}:mold=10:ratio=0.2:death_color=#C83232"
            ":life_color=#00ff00,scale=1920:1080:flags=neighbor",
    "cellauto": "cellauto=size=640x360:rate={fps}:rule=110:scroll=1:random_fill_ratio=0.3"
                ",hue=H=t/3:s=3,scale=1920:1080:flags=neighbor",
}
NOISE = "noise=alls=14:allf=t+u"
AUDIO = ("sine=frequency=440:sample_rate=48000,volume=0.3[s];"
         "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05[n];[s][n]amix=inputs=2")


def ffmpeg_version():
    r = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True)
    return r.stdout.splitlines()[0] if r.returncode == 0 else "missing"


def recipe(name, duration):
    return {"source": VIDEOS[name], "noise": NOISE, "audio": AUDIO, "fps": FPS, "seg_s": SEG_S,
            "ladder": LADDER, "audio_kbps": AUDIO_KBPS, "duration": duration, "codec": "h264",
            "ffmpeg": ffmpeg_version()}


def cache_root(opt):
    if opt:
        return os.path.abspath(opt)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "netmicroscope", "videolab")


def ensure(name, duration, cache, log=print):
    """Returns the directory holding `name`'s manifest.mpd, encoding it first if not cached."""
    r = recipe(name, duration)
    key = hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest()[:12]
    out = os.path.join(cache, f"{name}-{duration}s-{key}")
    if os.path.exists(os.path.join(out, "recipe.json")):
        return out
    tmp = out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    n = len(LADDER)
    split = f"[0:v]{NOISE},split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";"
    split += ";".join(f"[s{i}]scale={w}:{h}[v{i}]"
                      for i, (h, w, _) in enumerate(LADDER))
    # Audio is built in the filter graph from two lavfi sources (tone + pink noise).
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", VIDEOS[name].format(fps=FPS),
           "-t", str(duration), "-filter_complex", split + ";" + AUDIO + "[a]"]
    for i in range(n):
        cmd += ["-map", f"[v{i}]"]
    cmd += ["-map", "[a]", "-t", str(duration),
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
            # Fixed GOP = one segment, no scene-cut keyframes: segments align across rungs.
            "-g", str(FPS * SEG_S), "-keyint_min", str(FPS * SEG_S), "-sc_threshold", "0"]
    for i, (_, _, kbps) in enumerate(LADDER):
        cmd += [f"-b:v:{i}", f"{kbps}k", f"-maxrate:v:{i}", f"{int(kbps * 1.1)}k",
                f"-bufsize:v:{i}", f"{kbps * 2}k"]
    cmd += ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2",
            "-f", "dash", "-seg_duration", str(SEG_S), "-use_template", "1", "-use_timeline",
            "0", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
            os.path.join(tmp, "manifest.mpd")]
    log(f"encoding {name} ({duration} s, {n} rungs + audio) into {out} ...")
    t0 = time.time()
    subprocess.run(cmd, check=True)
    took = time.time() - t0
    size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
    with open(os.path.join(tmp, "recipe.json"), "w") as f:
        json.dump(dict(r, encode_seconds=round(took, 1), bytes=size), f, indent=1)
    os.rename(tmp, out)
    log(f"encoded {name} in {took:.0f} s, {size / 1e6:.1f} MB")
    return out


def ladder_info():
    return [{"height": h, "width": w, "kbps": k} for h, w, k in LADDER]
