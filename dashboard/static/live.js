// The live board and a live call's page: server-sent events in, command POSTs out.
// Plain script (no framework); every value from the server is set as text, never as markup.
"use strict";

(function () {
  const LABELS = { caller_asked_for_person: "Caller asked for a person",
                   escalation: "Escalation", transfer_unanswered: "Transfer unanswered" };

  function label(name) {
    if (!name) return "–";
    if (LABELS[name]) return LABELS[name];
    const text = String(name).replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  // Durations tick in the page from the server's figure (no clock skew between the two).
  function setDuration(node, seconds) {
    node.dataset.durationBase = String(seconds);
    node.dataset.durationAt = String(performance.now());
    node.textContent = clock(seconds);
  }
  setInterval(function () {
    for (const node of document.querySelectorAll("[data-duration-base]")) {
      const base = Number(node.dataset.durationBase);
      const at = Number(node.dataset.durationAt);
      node.textContent = clock(base + (performance.now() - at) / 1000);
    }
  }, 1000);

  // An audible cue: a short two-tone beep from Web Audio. Browsers may hold audio until the
  // user interacts with the page; the "Turn sound on" button is that interaction.
  function makeBeeper(button) {
    let context = null;
    function audio() {
      if (!context) {
        const AudioContextClass = window.AudioContext || window.webkitAudioContext;
        if (!AudioContextClass) return null;
        context = new AudioContextClass();
      }
      return context;
    }
    if (button) {
      button.addEventListener("click", function () {
        const ctx = audio();
        if (ctx) ctx.resume().then(function () { button.hidden = true; });
      });
    }
    return function beep() {
      const ctx = audio();
      if (!ctx) return;
      if (ctx.state === "suspended") {
        ctx.resume().catch(function () {});
        if (button && ctx.state === "suspended") button.hidden = false;
      }
      const start = ctx.currentTime + 0.01;
      [0, 0.22].forEach(function (offset, index) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = index ? 660 : 880;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start + offset);
        osc.stop(start + offset + 0.2);
      });
      document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
    };
  }

  async function postCommand(url, csrf, fields) {
    const body = new URLSearchParams(fields || {});
    body.set("csrf_token", csrf);
    let response;
    try {
      response = await fetch(url, { method: "POST", credentials: "same-origin", body: body,
        headers: { "accept": "application/json", "x-csrf-token": csrf } });
    } catch (error) {
      return { ok: false, message: "The console is not reachable. Nothing was sent." };
    }
    const type = response.headers.get("content-type") || "";
    if (type.includes("application/json")) return response.json();
    return { ok: false, message: (await response.text()) || ("Refused (" + response.status + ")") };
  }

  function show(node, text) {
    node.textContent = text;
    node.hidden = !text;
  }

  // an escalation accepted on the board, handed to the call's page (same tab)
  const ACCEPTED = "accepted:";

  // Tells the page's audio controls (live_audio.js) about a command's reply, as a command sent
  // from this page does; an acceptance from the board arrives before they may be wired.
  function announceOnceAudioIsReady(reply) {
    const audio = document.querySelector("[data-live-audio]");
    const announce = function () {
      document.dispatchEvent(new CustomEvent("live:command", { detail: reply }));
    };
    if (!audio || audio.dataset.ready === "true") announce();
    else window.addEventListener("load", announce, { once: true });
  }

  function needsAttention(call) {
    return Boolean(call.ringing) || call.escalation_flags.length > 0;
  }

  function supervisorsText(call) {
    const parts = [];
    if (call.supervisor) parts.push("Taken over by " + call.supervisor);
    if (call.monitoring.length) parts.push("Listening: " + call.monitoring.join(", "));
    return parts.join(" · ") || "Nobody";
  }

  // ---- the board -------------------------------------------------------------------------

  function startBoard(root) {
    const csrf = root.dataset.csrfToken;
    const tbody = root.querySelector("#board-calls tbody");
    const table = root.querySelector("#board-calls");
    const empty = root.querySelector("#board-empty");
    const attention = root.querySelector("#board-attention");
    const refusal = root.querySelector("#board-refusal");
    const connection = root.querySelector("#board-connection");
    const present = root.querySelector("#board-present");
    const beep = makeBeeper(root.querySelector("#sound-on"));
    let alerted = new Set();
    let ringing = false;

    setInterval(function () { if (ringing) beep(); }, 2500);

    async function accept(call) {
      const reply = await postCommand("/live/" + encodeURIComponent(call.call_id) + "/accept",
                                      csrf);
      if (!reply.ok) { show(refusal, reply.message); return; }
      // the call's page picks the acceptance up: its briefing, and the microphone follows it
      sessionStorage.setItem(ACCEPTED + call.call_id, JSON.stringify(reply));
      window.location.assign("/live/" + encodeURIComponent(call.call_id));
    }

    function row(call) {
      const short = call.call_id.slice(0, 8);
      const flags = el("td", { class: "flags" });
      for (const flag of call.escalation_flags) {
        flags.append(el("span", { class: "badge alarm", text: label(flag) }), " ");
      }
      if (call.ringing) {
        const button = el("button", { type: "button", class: "primary",
                                      "aria-label": "Accept call " + short, text: "Accept" });
        button.addEventListener("click", function () { accept(call); });
        flags.append(el("span", { class: "badge ringing",
                                  text: "Ringing: " + label(call.ringing.reason) }), " ", button);
      }
      const duration = el("td", { class: "mono duration" });
      setDuration(duration, call.duration_s);
      return el("tr", { "data-call-id": call.call_id,
                        class: needsAttention(call) ? "attention" : null },
        el("td", {}, el("a", { href: "/live/" + encodeURIComponent(call.call_id),
                               class: "mono", text: short }),
           call.test_call ? el("span", { class: "badge", text: "test call" }) : null),
        duration,
        el("td", {}, el("span", { class: "badge stage-" + call.stage, text: label(call.stage) })),
        el("td", { class: "missing", text: call.missing_fields.map(label).join(", ") || "None" }),
        el("td", { class: "supervisors", text: supervisorsText(call) }),
        flags);
    }

    function render(data) {
      const calls = data.calls;
      tbody.replaceChildren(...calls.map(row));
      table.hidden = calls.length === 0;
      empty.hidden = calls.length > 0;
      present.textContent = (data.present || []).join(", ") || "–";
      const urgent = calls.filter(needsAttention);
      show(attention, urgent.length ? urgent.length + (urgent.length === 1 ? " call needs" :
        " calls need") + " attention: " + urgent.map(function (c) {
          return c.call_id.slice(0, 8) + " (" + (c.ringing ? "ringing" :
            c.escalation_flags.map(label).join(", ")) + ")";
        }).join("; ") : "");
      const now = new Set();
      for (const call of urgent) {
        for (const flag of call.escalation_flags) now.add(call.call_id + ":" + flag);
        if (call.ringing) now.add(call.call_id + ":ringing");
      }
      if ([...now].some(function (key) { return !alerted.has(key); })) beep();
      alerted = now;
      ringing = calls.some(function (c) { return Boolean(c.ringing); });
    }

    const events = new EventSource("/live/events");
    events.addEventListener("open", function () { connection.textContent = "Live"; });
    events.addEventListener("error", function () { connection.textContent = "Reconnecting…"; });
    events.addEventListener("board", function (e) { render(JSON.parse(e.data)); });
    events.addEventListener("unavailable", function (e) {
      show(refusal, JSON.parse(e.data).message);
    });
  }

  // ---- one call ------------------------------------------------------------------------

  const SUPERVISION_TEXT = {
    listen_start: function (p) { return p.by + " started listening"; },
    listen_stop: function (p) { return p.by + " stopped listening"; },
    whisper: function (p) { return "Whisper from " + p.by + ": " + p.text; },
    take_over: function (p) { return p.by + " took the call over"; },
    hand_back: function (p) { return p.by + " handed the call back to the agent"; },
    end_call: function (p) { return p.by + " ended the call"; },
    board_ring: function (p) { return "The board is ringing (" + label(p.category) + ")"; },
    board_ring_accepted: function (p) { return p.by + " accepted the escalation"; },
    board_ring_unanswered: function () { return "Nobody on the board accepted"; },
  };

  function startCall(root) {
    const callId = root.dataset.callId;
    const csrf = root.dataset.csrfToken;
    const transcript = root.querySelector("#live-transcript");
    const checklist = root.querySelector("#live-checklist tbody");
    const notice = root.querySelector("#call-notice");
    const refusal = root.querySelector("#call-refusal");
    const connection = root.querySelector("#call-connection");
    const acceptForm = root.querySelector("#accept-form");
    const beep = makeBeeper(null);
    let wasRinging = false;

    function append(node) {
      const atBottom = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 8;
      transcript.append(node);
      if (atBottom) transcript.scrollTop = transcript.scrollHeight;
    }

    function time(at) {
      const date = new Date(at);
      return isNaN(date) ? "" : date.toLocaleTimeString();
    }

    function showBriefing(briefing) {
      if (!briefing) return;
      const section = root.querySelector("#call-briefing");
      root.querySelector("#briefing-reason").textContent = "Reason: " + label(briefing.reason) +
        ". Still missing: " + ((briefing.missing_fields || []).map(label).join(", ") || "nothing");
      const list = root.querySelector("#briefing-fields");
      list.replaceChildren();
      for (const [name, value] of Object.entries(briefing.fields || {})) {
        list.append(el("dt", { text: label(name) }), el("dd", { text: String(value) }));
      }
      section.hidden = false;
    }

    function slot(payload) {
      let tr = checklist.querySelector('tr[data-field="' + CSS.escape(payload.field) + '"]');
      if (!tr) {
        tr = el("tr", { "data-field": payload.field, "data-confirm": "0" },
          el("th", { scope: "row", text: label(payload.field) }),
          el("td", { class: "value" }), el("td", { class: "state" }));
        checklist.append(tr);
      }
      const has = payload.value !== null && payload.value !== undefined && payload.value !== "";
      tr.querySelector(".value").textContent = has ? String(payload.value) : "–";
      let state = "Not collected";
      let css = "state-missing";
      if (has && payload.confirmed) { state = "Confirmed"; css = "state-ok"; }
      else if (has && tr.dataset.confirm === "1") { state = "Recorded, not read back yet";
                                                    css = "state-unconfirmed"; }
      else if (has) { state = "Recorded"; css = "state-ok"; }
      tr.querySelector(".state").textContent = state;
      tr.className = css;
    }

    function feed(item) {
      const p = item.payload || {};
      if (item.kind === "turn") {
        const role = p.role || "unknown";
        append(el("li", { class: "turn " + role + (p.interrupted ? " interrupted" : ""),
                          "data-seq": item.seq },
          el("span", { class: "who", text: label(role) }),
          el("span", { class: "time", text: time(item.at) }),
          p.interrupted ? el("span", { class: "tag", text: "cut off" }) : null,
          el("p", { text: p.text || "" })));
      } else if (item.kind === "slot_changed") {
        slot(p);
      } else if (item.kind === "supervision") {
        const text = SUPERVISION_TEXT[p.action];
        append(el("li", { class: "event supervision", text: text ? text(p) : label(p.action) }));
      } else if (item.kind === "escalation") {
        append(el("li", { class: "event escalation",
          text: "Escalation: " + label(p.category) + (p.stage ? " (" + label(p.stage) + ")" : "") }));
      } else if (item.kind === "status" && p.status && p.status !== "opened") {
        append(el("li", { class: "event", text: "Call " + label(p.status).toLowerCase() +
          (p.reason ? " (" + label(p.reason).toLowerCase() + ")" : "") }));
      }
    }

    function state(call) {
      if (!call) return;
      root.querySelector("#call-stage").textContent = label(call.stage);
      setDuration(root.querySelector("#call-duration"), call.duration_s);
      root.querySelector("#call-supervisor").textContent =
        call.supervisor ? "Taken over by " + call.supervisor : "Agent answering";
      root.querySelector("#call-monitoring").textContent =
        call.monitoring.length ? "Listening: " + call.monitoring.join(", ") : "";
      acceptForm.hidden = !call.ringing;
      if (call.ringing && !wasRinging) beep();
      wasRinging = Boolean(call.ringing);
      document.dispatchEvent(new CustomEvent("live:state", { detail: call }));
    }

    function ended() {
      connection.textContent = "Ended";
      root.querySelector("#call-stage").textContent = "Ended";
      const duration = root.querySelector("#call-duration");
      delete duration.dataset.durationBase;
      for (const button of root.querySelectorAll("#live-controls button")) button.disabled = true;
      document.dispatchEvent(new CustomEvent("live:ended", { detail: { call_id: callId } }));
    }

    for (const form of root.querySelectorAll("form.command")) {
      form.addEventListener("submit", async function (event) {
        event.preventDefault();
        const fields = {};
        const text = form.querySelector("textarea");
        if (text) fields.text = text.value;
        const button = form.querySelector("button");
        button.disabled = true;
        const reply = await postCommand(form.action, csrf, fields);
        button.disabled = false;
        if (reply.ok && text) text.value = "";
        showReply(reply);
      });
    }

    // a command's reply on the page: its notice or refusal, the briefing of an accepted
    // escalation, and the audio controls told (the microphone follows a take-over)
    function showReply(reply) {
      show(notice, reply.ok ? reply.message : "");
      show(refusal, reply.ok ? "" : reply.message);
      if (reply.ok && reply.data && reply.data.briefing) showBriefing(reply.data.briefing);
      announceOnceAudioIsReady(reply);
    }

    const accepted = sessionStorage.getItem(ACCEPTED + callId);
    if (accepted) {
      sessionStorage.removeItem(ACCEPTED + callId);
      showReply(JSON.parse(accepted));
    }
    if (!root.dataset.room) return;  // not in progress: nothing to follow

    const events = new EventSource("/live/" + encodeURIComponent(callId) + "/events");
    events.addEventListener("open", function () { connection.textContent = "Live"; });
    events.addEventListener("error", function () {
      if (connection.textContent !== "Ended") connection.textContent = "Reconnecting…";
    });
    events.addEventListener("feed", function (e) { feed(JSON.parse(e.data)); });
    events.addEventListener("call", function (e) { state(JSON.parse(e.data)); });
    events.addEventListener("ended", function () { events.close(); ended(); });
    events.addEventListener("unavailable", function (e) {
      show(refusal, JSON.parse(e.data).message);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const board = document.getElementById("live-board");
    if (board) startBoard(board);
    const call = document.getElementById("live-call");
    if (call) startCall(call);
  });
})();
