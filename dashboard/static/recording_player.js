// The call page's recording player: parts in order, caller / agent / both through Web Audio,
// a level meter per channel, and a transcript that follows playback.
// The recording is stereo: the caller on the left, what the caller heard on the right.
"use strict";

(function () {
  const audio = document.getElementById("recording-audio");
  if (!audio) return;
  const srcBase = audio.dataset.srcBase;
  const parts = audio.dataset.parts.split(",").map(Number);
  const turns = Array.from(document.querySelectorAll(".turn[data-part]"));
  const partButtons = Array.from(document.querySelectorAll("button.part[data-part]"));
  const meters = {
    caller: document.getElementById("level-caller"),
    agent: document.getElementById("level-agent"),
  };
  let currentPart = parts[0];
  let graph = null;
  let mode = "both";
  let pendingSeek = null; // seconds to seek to once the next part's metadata is in

  // one graph per page: a media element can feed only one MediaElementSource
  function buildGraph() {
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    const context = new AudioCtx();
    const source = context.createMediaElementSource(audio);
    const splitter = context.createChannelSplitter(2);
    const merger = context.createChannelMerger(2);
    source.connect(splitter);
    // caller -> left and right, agent -> left and right; the mode sets the four gains
    const gains = {};
    for (const [name, channel] of [["caller", 0], ["agent", 1]]) {
      for (const [ear, input] of [["L", 0], ["R", 1]]) {
        const gain = context.createGain();
        splitter.connect(gain, channel);
        gain.connect(merger, 0, input);
        gains[name + ear] = gain;
      }
    }
    merger.connect(context.destination);
    // levels are read before the gains: they show what is in the recording
    const analysers = {};
    for (const [name, channel] of [["caller", 0], ["agent", 1]]) {
      const analyser = context.createAnalyser();
      analyser.fftSize = 2048;
      splitter.connect(analyser, channel);
      analysers[name] = analyser;
    }
    // and what the operator hears, after the gains
    const heard = context.createAnalyser();
    heard.fftSize = 2048;
    merger.connect(heard);
    graph = { context, gains, analysers, heard, settle: 0, buffer: new Float32Array(2048) };
    applyMode();
    window.setInterval(readLevels, 100);
  }

  function ensureGraph() {
    if (!graph) buildGraph();
    if (graph.context.state === "suspended") graph.context.resume();
  }

  function applyMode() {
    if (!graph) return;
    const on = {
      both: { callerL: 1, callerR: 0, agentL: 0, agentR: 1 },
      caller: { callerL: 1, callerR: 1, agentL: 0, agentR: 0 },
      agent: { callerL: 0, callerR: 0, agentL: 1, agentR: 1 },
    }[mode];
    for (const [name, gain] of Object.entries(graph.gains)) {
      gain.gain.setValueAtTime(on[name], graph.context.currentTime);
    }
    audio.dataset.channels = mode;
    audio.dataset.outPeak = "0";
    graph.settle = 3;
  }

  function rms(analyser) {
    analyser.getFloatTimeDomainData(graph.buffer);
    let sum = 0;
    for (const sample of graph.buffer) sum += sample * sample;
    return Math.sqrt(sum / graph.buffer.length);
  }

  function readLevels() {
    // the loudest output since the channels last changed; the first reads still hold audio
    // from before the change
    if (graph.settle > 0) {
      graph.settle -= 1;
    } else {
      const out = Math.max(Number(audio.dataset.outPeak || 0), rms(graph.heard));
      audio.dataset.outPeak = out.toFixed(4);
    }
    for (const [name, analyser] of Object.entries(graph.analysers)) {
      const level = Math.min(1, rms(analyser) * 4);
      meters[name].value = level;
      // the loudest level heard so far, for people checking the channels (and tests)
      const peak = Math.max(Number(meters[name].dataset.peak || 0), level);
      meters[name].dataset.peak = peak.toFixed(4);
    }
  }

  function showPart(part) {
    currentPart = part;
    audio.dataset.part = String(part);
    for (const button of partButtons) {
      button.setAttribute("aria-pressed", Number(button.dataset.part) === part ? "true" : "false");
    }
  }

  function play() {
    ensureGraph();
    const started = audio.play();
    if (started) started.catch(() => {}); // a refused autoplay leaves the controls to the user
  }

  function seek(part, seconds) {
    if (part !== currentPart) {
      pendingSeek = seconds;
      showPart(part);
      audio.src = srcBase + part;
      audio.load();
    } else {
      audio.currentTime = seconds;
    }
    play();
  }

  audio.addEventListener("loadedmetadata", () => {
    if (pendingSeek !== null) {
      audio.currentTime = Math.min(pendingSeek, audio.duration || pendingSeek);
      pendingSeek = null;
    }
  });

  audio.addEventListener("play", ensureGraph);

  // the next part continues the call
  audio.addEventListener("ended", () => {
    const next = parts[parts.indexOf(currentPart) + 1];
    if (next !== undefined) seek(next, 0);
  });

  function follow() {
    const now = audio.currentTime;
    let heard = null;
    for (const turn of turns) {
      if (Number(turn.dataset.part) !== currentPart) continue;
      if (now >= Number(turn.dataset.start) && now <= Number(turn.dataset.end)) {
        heard = turn;
        break;
      }
    }
    for (const turn of turns) {
      if (turn === heard) continue;
      turn.classList.remove("playing");
      turn.removeAttribute("aria-current");
    }
    if (heard && !heard.classList.contains("playing")) {
      heard.classList.add("playing");
      heard.setAttribute("aria-current", "true");
      heard.scrollIntoView({ block: "nearest" });
    }
  }

  audio.addEventListener("timeupdate", follow);
  audio.addEventListener("seeked", follow);

  for (const turn of turns) {
    turn.addEventListener("click", (event) => {
      if (event.target.closest("a")) return; // links inside a turn keep their job
      seek(Number(turn.dataset.part), Number(turn.dataset.start));
    });
  }

  for (const button of partButtons) {
    button.addEventListener("click", () => seek(Number(button.dataset.part), 0));
  }

  for (const radio of document.querySelectorAll('input[name="channels"]')) {
    radio.addEventListener("change", () => {
      mode = radio.value;
      ensureGraph();
      applyMode();
    });
  }

  showPart(currentPart);
})();
