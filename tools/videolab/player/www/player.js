// Plays one DASH presentation with dash.js and records what the player did, once per second
// and per event. The driver (drive.mjs) reads window.videolab once `done` is true.
//
// Query: mpd=URL, max=seconds of playback (after the first frame) before stopping.
'use strict';

(function () {
  const q = new URLSearchParams(location.search);
  const maxPlay = Number(q.get('max') || 60);
  const video = document.getElementById('v');
  const epoch = () => (performance.timeOrigin + performance.now()) / 1000;
  const r3 = (x) => Math.round(x * 1000) / 1000;

  const lab = {
    done: false, error: null, state: 'startup', samples: [], stalls: [], switches: [],
    events: [], playRequestT: null, firstFrameT: null, endReason: null,
    fragments: { started: 0, completed: 0, abandoned: 0 }, representations: [],
  };
  window.videolab = lab;
  // Resource Timing keeps only 250 entries by default; byte accounting needs all of them.
  performance.setResourceTimingBufferSize(100000);

  const player = dashjs.MediaPlayer().create();
  const E = dashjs.MediaPlayer.events;
  player.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING } });
  const note = (type, extra) => lab.events.push(Object.assign({ t: r3(epoch()), type }, extra));

  // Rendered quality is what the video element shows: videoHeight, mapped to the ladder rung
  // of that height for the bitrate.
  const rungForHeight = (h) => lab.representations.find((r) => r.height === h) || null;
  let inflight = 0;
  let stopping = false;

  function setState(s) {
    if (s !== lab.state) {
      note('state', { from: lab.state, to: s });
      lab.state = s;
    }
  }

  video.addEventListener('waiting', () => {
    if (lab.firstFrameT !== null && lab.state === 'playing' && !stopping) {
      lab.stalls.push({ start: r3(epoch()), end: null, duration_s: null });
      setState('stalled');
    }
  });
  video.addEventListener('playing', () => {
    const open = lab.stalls[lab.stalls.length - 1];
    if (open && open.end === null) {
      open.end = r3(epoch());
      open.duration_s = r3(open.end - open.start);
    }
    if (lab.firstFrameT !== null) setState('playing');
  });
  video.addEventListener('ended', () => { setState('ended'); finish('ended'); });
  let lastHeight = 0;
  video.addEventListener('resize', () => {
    const h = video.videoHeight;
    if (lastHeight && h !== lastHeight) {
      const a = rungForHeight(lastHeight), b = rungForHeight(h);
      lab.switches.push({ t: r3(epoch()), from_height: lastHeight, to_height: h,
        from_kbps: a && a.kbps, to_kbps: b && b.kbps });
    }
    lastHeight = h;
  });

  player.on(E.STREAM_INITIALIZED, () => {
    lab.representations = player.getRepresentationsByType('video').map((r) => (
      { id: r.id, height: r.height, width: r.width, kbps: Math.round(r.bandwidth / 1000) }));
  });
  player.on(E.FRAGMENT_LOADING_STARTED, () => { inflight++; lab.fragments.started++; });
  player.on(E.FRAGMENT_LOADING_COMPLETED, () => {
    inflight--; lab.fragments.completed++;
    if (stopping && inflight <= 0) teardown();
  });
  // An abandoned request's body is on the wire but gets no Resource Timing entry: keep what
  // dash.js had received of it (its last progress event) and its full size. Over h2 the server
  // has often written the whole response into its socket by then, so all of it crosses.
  player.on(E.FRAGMENT_LOADING_ABANDONED, (e) => {
    inflight--; lab.fragments.abandoned++;
    const rq = e.request || {};
    const got = Number.isFinite(rq.bytesLoaded) ? rq.bytesLoaded : 0;
    lab.fragments.abandoned_bytes = (lab.fragments.abandoned_bytes || 0) + got;
    lab.fragments.abandoned_bytes_total = (lab.fragments.abandoned_bytes_total || 0) +
      (Number.isFinite(rq.bytesTotal) ? rq.bytesTotal : got);
    note('abandoned', { url: rq.url, bytes_loaded: got, bytes_total: rq.bytesTotal });
    if (stopping && inflight <= 0) teardown();
  });
  player.on(E.ERROR, (e) => {
    lab.error = JSON.stringify(e.error || e).slice(0, 500);
    note('error', { error: lab.error });
  });

  function sample() {
    const h = video.videoHeight || 0;
    const rung = rungForHeight(h);
    let buf = 0;
    try { buf = player.getBufferLength('video') || 0; } catch (e) { /* not ready yet */ }
    let dl = null;
    try { dl = player.getCurrentRepresentationForType('video'); } catch (e) { /* idem */ }
    lab.samples.push({
      t: r3(epoch()), state: lab.state, height: lab.firstFrameT === null ? 0 : h,
      bitrate_kbps: lab.firstFrameT === null || !rung ? 0 : rung.kbps,
      buffer_s: r3(buf), position_s: r3(video.currentTime),
      dl_height: dl ? dl.height : 0, dropped_frames:
        video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().droppedVideoFrames : 0,
    });
  }

  // Stops cleanly: no media request may be cut off, or the page's byte count would miss
  // bytes the capture holds. So stop fetching only once nothing is in flight.
  function finish(reason) {
    if (stopping) return;
    stopping = true;
    lab.endReason = reason;
    note('finish', { reason });
    video.pause();
    if (inflight <= 0) teardown();
    setTimeout(teardown, 30000);  // a hung request must not hang the session
  }
  let tornDown = false;
  function teardown() {
    if (tornDown) return;
    tornDown = true;
    sample();
    clearInterval(timer);
    player.reset();
    // Resource Timing entries of the last responses are queued: read them a moment later.
    setTimeout(() => {
      const res = performance.getEntriesByType('resource').concat(
        performance.getEntriesByType('navigation'));
      lab.resources = res.map((r) => ({
        url: r.name, protocol: r.nextHopProtocol, body: r.encodedBodySize,
        transfer: r.transferSize, start: r3((performance.timeOrigin + r.startTime) / 1000),
        end: r3((performance.timeOrigin + r.responseEnd) / 1000),
      }));
      lab.done = true;
    }, 1000);
  }

  let timer = null;
  // The play request: called by the driver once the page is loaded, so startup delay covers
  // what a returning viewer waits for (manifest, init and first segments), not the page.
  window.videolabStart = () => {
    // Samples on whole wall-clock seconds from the play request on.
    setTimeout(() => { sample(); timer = setInterval(sample, 1000); },
      1000 - (Date.now() % 1000));
    video.requestVideoFrameCallback(() => {
      lab.firstFrameT = r3(epoch());
      setState('playing');
      lastHeight = video.videoHeight;
      note('first_frame', { height: video.videoHeight });
      setTimeout(() => finish('max_play'), maxPlay * 1000);
    });
    lab.playRequestT = r3(epoch());
    note('play_request');
    player.initialize(video, q.get('mpd'), true);
  };
})();
