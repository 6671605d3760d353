// Live audio in the console: listen to a call, publish the supervisor's microphone for a
// take-over, and a test call from the browser. Every token comes from a POST to our server
// (session + CSRF header); the page never holds a LiveKit key. Uses livekit-client's UMD build
// (window.LivekitClient), served by the console from /static/vendor/.
(function () {
  "use strict";
  const LK = window.LivekitClient;
  const TRANSCRIPTION_TOPIC = "lk.transcription";
  // test audio and speech alike: no processing that reshapes what the caller hears
  const MIC_OPTIONS = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  // the rooms this page holds, for the page's own tests to inspect
  const state = (window.intakeLiveAudio = { listenRoom: null, publishRoom: null, testRoom: null });
  let audioContext = null;

  function context() {
    if (audioContext === null) audioContext = new AudioContext();
    if (audioContext.state === "suspended") audioContext.resume();
    return audioContext;
  }

  async function postForToken(url, csrf) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
    });
    const body = await response.text();
    let parsed = null;
    try { parsed = JSON.parse(body); } catch (_) { /* a plain-text refusal from the guard */ }
    if (!response.ok) {
      throw new Error((parsed && parsed.message) || body || ("HTTP " + response.status));
    }
    return parsed;
  }

  function roleOf(participant) {
    if (participant.isAgent) return "agent";
    if (participant.identity.startsWith("supervisor:")) return "supervisor";
    return "caller";
  }

  const LABELS = { agent: "Agent", caller: "Caller", supervisor: "Supervisor" };

  // A remote audio track: played through an <audio> element (without one, Web Audio reads
  // silence), metered by an AnalyserNode into a <meter> and the item's data-peak attribute.
  class TrackMeter {
    constructor(track, participant, list, audioHolder, label) {
      this.element = track.attach();
      this.element.dataset.identity = participant.identity;
      audioHolder.appendChild(this.element);
      const ctx = context();
      this.source = ctx.createMediaStreamSource(new MediaStream([track.mediaStreamTrack]));
      this.analyser = ctx.createAnalyser();
      this.analyser.fftSize = 2048;
      this.source.connect(this.analyser);
      this.samples = new Float32Array(this.analyser.fftSize);
      this.peak = 0;
      this.item = document.createElement("li");
      this.item.dataset.identity = participant.identity;
      this.item.dataset.role = roleOf(participant);
      this.item.dataset.peak = "0";
      const name = document.createElement("span");
      name.textContent = label || LABELS[roleOf(participant)];
      this.meter = document.createElement("meter");
      this.meter.min = 0; this.meter.max = 0.5; this.meter.value = 0;
      this.meter.setAttribute("aria-label", name.textContent + " audio level");
      this.item.append(name, this.meter);
      list.appendChild(this.item);
      this.timer = setInterval(() => this.sample(), 100);
    }

    sample() {
      this.analyser.getFloatTimeDomainData(this.samples);
      let sum = 0;
      for (const v of this.samples) sum += v * v;
      const rms = Math.sqrt(sum / this.samples.length);
      this.meter.value = rms;
      this.item.dataset.level = rms.toFixed(4);
      if (rms > this.peak) {
        this.peak = rms;
        this.item.dataset.peak = rms.toFixed(4);
      }
    }

    stop() {
      clearInterval(this.timer);
      this.source.disconnect();
      this.element.remove();
      this.item.remove();
    }
  }

  // Meters every remote audio track of a room; returns a function that removes them all.
  function meterRoom(room, list, audioHolder, labelFor) {
    const meters = new Map();
    room.on(LK.RoomEvent.TrackSubscribed, (track, publication, participant) => {
      if (track.kind !== LK.Track.Kind.Audio) return;
      meters.set(publication.trackSid, new TrackMeter(track, participant, list, audioHolder,
                                                      labelFor && labelFor(participant)));
    });
    room.on(LK.RoomEvent.TrackUnsubscribed, (track, publication) => {
      const meter = meters.get(publication.trackSid);
      if (meter) { meter.stop(); meters.delete(publication.trackSid); }
    });
    return () => { for (const meter of meters.values()) meter.stop(); meters.clear(); };
  }

  function newRoom() {
    return new LK.Room({ adaptiveStream: false, dynacast: false });
  }

  function toggle(shown, hidden) {
    for (const el of shown) el.hidden = false;
    for (const el of hidden) el.hidden = true;
  }

  // --- a call's listen and take-over controls ---------------------------------------------------
  function setUpControls(root) {
    const callId = root.dataset.callId;
    const csrf = root.dataset.csrf;
    const button = (name) => root.querySelector('[data-action="' + name + '"]');
    const listen = button("listen"), stopListening = button("stop-listening");
    const publish = button("publish"), unpublish = button("unpublish");
    const status = root.querySelector("[data-status]");
    const micStatus = root.querySelector("[data-mic-status]");
    const levels = root.querySelector("[data-levels]");
    const audioHolder = root.querySelector("[data-audio]");
    let unmeter = null;

    // the call's record says who listened, from when to when (the worker writes the event)
    function audit(action) {
      return fetch("/live/" + encodeURIComponent(callId) + "/" + action, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      }).catch(() => null);
    }

    async function startListening() {
      listen.disabled = true;
      status.textContent = "Connecting…";
      try {
        const grant = await postForToken("/live/" + encodeURIComponent(callId) +
                                         "/audio/listen", csrf);
        const room = newRoom();
        unmeter = meterRoom(room, levels, audioHolder);
        room.on(LK.RoomEvent.Disconnected, () => {
          if (state.listenRoom === room) endListening("The call's audio ended.");
        });
        await room.connect(grant.url, grant.token, { autoSubscribe: true });
        state.listenRoom = room;
        audit("listen-start");
        root.dataset.listening = "true";
        root.dataset.canPublish = String(room.localParticipant.permissions
                                         ? room.localParticipant.permissions.canPublish : false);
        status.textContent = "Listening (hidden; you cannot be heard).";
        toggle([stopListening], [listen]);
      } catch (err) {
        status.textContent = "Could not listen: " + err.message;
      } finally {
        listen.disabled = false;
      }
    }

    function endListening(message) {
      const room = state.listenRoom;
      state.listenRoom = null;
      if (unmeter) { unmeter(); unmeter = null; }
      if (room) { room.disconnect(); audit("listen-stop"); }
      root.dataset.listening = "false";
      status.textContent = message;
      toggle([listen], [stopListening]);
    }

    async function startPublishing() {
      publish.disabled = true;
      micStatus.textContent = "Connecting your microphone…";
      try {
        const grant = await postForToken("/live/" + encodeURIComponent(callId) +
                                         "/audio/take-over", csrf);
        const room = newRoom();
        room.on(LK.RoomEvent.Disconnected, () => {
          if (state.publishRoom === room) endPublishing("Your microphone is off.");
        });
        // subscribe to nothing: the listen connection (if any) plays the call
        await room.connect(grant.url, grant.token, { autoSubscribe: false });
        await room.localParticipant.setMicrophoneEnabled(true, MIC_OPTIONS);
        state.publishRoom = room;
        root.dataset.publishing = "true";
        micStatus.textContent = "Your microphone is live: the caller hears you.";
        toggle([unpublish], [publish]);
      } catch (err) {
        micStatus.textContent = "Could not publish your microphone: " + err.message;
      } finally {
        publish.disabled = false;
      }
    }

    function endPublishing(message) {
      const room = state.publishRoom;
      state.publishRoom = null;
      if (room) room.disconnect();
      root.dataset.publishing = "false";
      micStatus.textContent = message;
      toggle([publish], [unpublish]);
    }

    listen.addEventListener("click", startListening);
    stopListening.addEventListener("click", () => endListening("Not listening."));
    publish.addEventListener("click", startPublishing);
    unpublish.addEventListener("click", () => endPublishing("Your microphone is off."));
    // disabled until now: a click before the script ran would be lost
    listen.disabled = false;
    publish.disabled = false;
    status.textContent = "Not listening.";
    // the live call page's take-over and hand-back buttons announce themselves with these
    document.addEventListener("intake:take-over", () => {
      if (!state.publishRoom) startPublishing();
    });
    document.addEventListener("intake:hand-back", () => {
      if (state.publishRoom) endPublishing("Your microphone is off.");
    });
    // the live call page (live.js) reports each command's reply: the microphone follows a
    // take-over (or an accepted escalation) and stops on hand-back or end
    document.addEventListener("live:command", (event) => {
      const reply = event.detail || {};
      if (!reply.ok) return;
      if (reply.action === "take_over" || reply.action === "accept_escalation") {
        if (!state.publishRoom) startPublishing();
      } else if (reply.action === "hand_back" || reply.action === "end_call") {
        if (state.publishRoom) endPublishing("Your microphone is off.");
      }
    });
    document.addEventListener("live:ended", () => {
      if (state.listenRoom) endListening("The call has ended.");
      if (state.publishRoom) endPublishing("The call has ended.");
    });
    window.addEventListener("pagehide", () => {
      if (state.listenRoom) state.listenRoom.disconnect();
      if (state.publishRoom) state.publishRoom.disconnect();
    });
    root.dataset.ready = "true";
  }

  // --- a test call from the browser ------------------------------------------------------------
  function setUpTestCall(root) {
    const csrf = root.dataset.csrf;
    const start = root.querySelector('[data-action="start"]');
    const hangUp = root.querySelector('[data-action="hang-up"]');
    const status = root.querySelector("[data-status]");
    const levels = root.querySelector("[data-levels]");
    const audioHolder = root.querySelector("[data-audio]");
    const transcript = document.querySelector("[data-transcript]");
    let unmeter = null;

    function addLine(speaker, text) {
      const item = document.createElement("li");
      item.dataset.speaker = speaker;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = speaker === "agent" ? "Agent" : "You";
      const said = document.createElement("span");
      said.textContent = text;  // text, never markup
      item.append(who, " ", said);
      transcript.appendChild(item);
    }

    async function onTranscription(reader, participantInfo, room) {
      const speaker = participantInfo.identity === room.localParticipant.identity
        ? "caller" : "agent";
      const attributes = reader.info.attributes || {};
      const final = speaker === "agent" || attributes["lk.transcription_final"] === "true";
      const text = (await reader.readAll()).trim();
      if (final && text) addLine(speaker, text);
    }

    async function startCall() {
      start.disabled = true;
      status.textContent = "Starting the call…";
      try {
        const grant = await postForToken("/test-call/start", csrf);
        const room = newRoom();
        unmeter = meterRoom(room, levels, audioHolder);
        room.registerTextStreamHandler(TRANSCRIPTION_TOPIC,
          (reader, info) => onTranscription(reader, info, room));
        room.on(LK.RoomEvent.Disconnected, () => {
          if (state.testRoom === room) endCall("The call ended.");
        });
        await room.connect(grant.url, grant.token, { autoSubscribe: true });
        await room.localParticipant.setMicrophoneEnabled(true, MIC_OPTIONS);
        state.testRoom = room;
        root.dataset.callId = grant.call_id;
        root.dataset.connected = "true";
        status.textContent = "On a test call (" + grant.call_id + "). Speak to the agent.";
        toggle([hangUp], [start]);
      } catch (err) {
        status.textContent = "Could not start the test call: " + err.message;
        start.disabled = false;
      }
    }

    function endCall(message) {
      const room = state.testRoom;
      state.testRoom = null;
      if (unmeter) { unmeter(); unmeter = null; }
      if (room) room.disconnect();
      root.dataset.connected = "false";
      status.textContent = message;
      start.disabled = false;
      toggle([start], [hangUp]);
    }

    start.addEventListener("click", startCall);
    hangUp.addEventListener("click", () => endCall("You hung up."));
    // the button is disabled until now: a click before the script ran would be lost
    start.disabled = false;
    status.textContent = "Not connected.";
    root.dataset.ready = "true";
    window.addEventListener("pagehide", () => { if (state.testRoom) state.testRoom.disconnect(); });
  }

  function init() {
    if (!LK) {
      for (const el of document.querySelectorAll("[data-status]")) {
        el.textContent = "The LiveKit client did not load.";
      }
      return;
    }
    for (const root of document.querySelectorAll("[data-live-audio]")) setUpControls(root);
    for (const root of document.querySelectorAll("[data-test-call]")) setUpTestCall(root);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
