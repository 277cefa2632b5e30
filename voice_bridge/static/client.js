"use strict";
// The bridge's browser page. Wire protocol: docs/voice.md. Microphone audio goes out as PCM16 mono frames
// at RATE; the agent's audio comes back as PCM16 mono at RATE and is scheduled gap-free; `interrupted`
// flushes it. Audio captured before the call is `ready` is kept (bounded) and sent once it is, so the
// caller's first words are not lost while the socket opens.
const RATE = 16000;
const FRAME = 320; // 20 ms
const FRAME_S = FRAME / RATE;
const BUFFER_MAX_S = 10; // audio kept while connecting
const BURST_MARGIN_S = 0.3; // the bridge admits `limits.burst_s` ahead of real time; stay under it
const VOICED_RMS = 0.01; // about -40 dBFS: above it a frame counts as speech (for the latency figure)
const LABELS = { customer: "You", agent: "Agent", human: "Staff" };
const STATES = {
  idle: "Not connected", connecting: "Connecting…", listening: "Listening",
  thinking: "Thinking…", speaking: "Speaking", human: "A person is on the line",
};
const $ = (id) => document.getElementById(id);

let ws = null, ctx = null, stream = null, sources = [], playAt = 0, pending = new Float32Array(0);
let partial = null, ready = false, backlog = [], playedMs = 0;
let lastVoiceAt = 0, awaitingReply = false, measuring = false, latencies = [], latencyFor = null;

function setState(name) {
  document.body.dataset.state = name;
  $("state-text").textContent = STATES[name];
}

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "status error" : "status";
}

function scrollDown() { $("transcript").scrollTop = $("transcript").scrollHeight; }

function note(text) {
  const div = document.createElement("div");
  div.className = "note";
  div.textContent = text;
  $("transcript").appendChild(div);
  scrollDown();
}

function newTurn(role) {
  const div = document.createElement("div");
  const who = document.createElement("span");
  who.className = "who";
  const name = document.createElement("span");
  name.className = "role";
  who.appendChild(name);
  const text = document.createElement("span");
  text.className = "text";
  div.append(who, text);
  div.className = "turn " + role;
  name.textContent = LABELS[role] || role;
  $("transcript").appendChild(div);
  return div;
}

function transcript(role, text, final) {
  if (role === "customer" && final) { awaitingReply = true; setState("thinking"); }
  let div;
  if (role === "agent") {
    div = partial || newTurn("agent");
    const t = div.querySelector(".text");
    t.textContent = final ? text : (t.textContent + " " + text).trim();
    div.classList.toggle("partial", !final);
    partial = final ? null : div;
    if (latencyFor === null) latencyFor = div;
  } else {
    div = newTurn(role);
    div.querySelector(".text").textContent = text;
  }
  scrollDown();
}

function showLatency(ms) {
  latencies.push(ms);
  document.body.dataset.latencies = latencies.join(",");  // for tests and curious people
  const sorted = latencies.slice().sort((a, b) => a - b);
  $("lat-last").textContent = ms + " ms";
  $("lat-median").textContent = sorted[Math.floor((sorted.length - 1) / 2)] + " ms";
  $("lat-count").textContent = String(latencies.length);
  const turns = document.querySelectorAll(".turn.agent");
  const div = latencyFor || turns[turns.length - 1];
  if (div) {
    const badge = document.createElement("span");
    badge.className = "latency";
    badge.title = "end of your speech to the agent's first audio";
    badge.textContent = ms + " ms";
    div.querySelector(".who").appendChild(badge);
  }
}

function markInterrupted() {
  // The agent turn the caller spoke over (the one being spoken) gets an "interrupted" tag; its text stays
  // as the agent wrote it, as it is stored.
  const turns = document.querySelectorAll(".turn.agent");
  const div = partial || turns[turns.length - 1];
  if (!div || div.querySelector(".interrupted")) return;
  const tag = document.createElement("span");
  tag.className = "interrupted";
  tag.title = "you spoke over this reply";
  tag.textContent = "interrupted";
  div.querySelector(".who").appendChild(tag);
}

function markTurn(heardAt, latency) {
  // The timing hook (docs/voice.md, bench/voice_browser.py): one pair of User Timing marks a reply, on the
  // page's own clock: `oratio:speech-end` at the last voiced microphone frame, `oratio:first-audio` when the
  // reply's first audio is heard (scheduled start). Read-only for the page, one pair per turn, nothing sent.
  // `output_ms`: what the browser says its output adds after that (not in the figure: fake devices report ~0).
  const output = ((ctx && ctx.baseLatency) || 0) + ((ctx && ctx.outputLatency) || 0);
  const turn = { turn: latencies.length + 1, latency_ms: latency, output_ms: Math.round(output * 1000) };
  performance.mark("oratio:speech-end", { startTime: lastVoiceAt, detail: turn });
  performance.mark("oratio:first-audio", { startTime: Math.max(0, heardAt), detail: turn });
}

function rms(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / Math.max(1, samples.length));
}

function capture(samples) {
  // Float32 [-1, 1] to PCM16 in FRAME-sized frames: sent when the call is ready, kept until then.
  if (rms(samples) > VOICED_RMS) lastVoiceAt = performance.now();
  const all = new Float32Array(pending.length + samples.length);
  all.set(pending); all.set(samples, pending.length);
  let offset = 0;
  while (all.length - offset >= FRAME) {
    const chunk = all.subarray(offset, offset + FRAME);
    const pcm = new Int16Array(FRAME);
    for (let i = 0; i < FRAME; i++) {
      const s = Math.max(-1, Math.min(1, chunk[i]));
      pcm[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
    }
    if (ready && ws && ws.readyState === WebSocket.OPEN) ws.send(pcm.buffer);
    else keep({ pcm: pcm.buffer, voiced: rms(chunk) > VOICED_RMS });
    offset += FRAME;
  }
  pending = all.slice(offset);
}

function keep(frame) {
  backlog.push(frame);
  if (backlog.length * FRAME_S > BUFFER_MAX_S) backlog.shift();
}

function sendBacklog(burstS) {
  // The bridge refuses audio more than `burst_s` ahead of real time: keep within it, dropping silent
  // frames first (leading silence), then the oldest, so the words survive a slow connection.
  const max = Math.max(0, Math.floor((burstS - BURST_MARGIN_S) / FRAME_S));
  while (backlog.length > max) {
    const silent = backlog.findIndex((f) => !f.voiced);
    backlog.splice(silent >= 0 ? silent : 0, 1);
  }
  for (const frame of backlog) ws.send(frame.pcm);
  document.body.dataset.bufferedMs = String(Math.round(backlog.length * FRAME_S * 1000));
  backlog = [];
}

function play(buffer) {
  const pcm = new Int16Array(buffer);
  if (!pcm.length || !ctx) return;
  const audio = ctx.createBuffer(1, pcm.length, RATE);
  const data = audio.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 0x8000;
  const src = ctx.createBufferSource();
  src.buffer = audio;
  src.connect(ctx.destination);
  playAt = Math.max(playAt, ctx.currentTime);
  if (measuring) {
    // Heard when it starts playing: now, plus whatever is still queued before it.
    measuring = false;
    const heardAt = performance.now() + (playAt - ctx.currentTime) * 1000;
    const latency = Math.max(0, Math.round(heardAt - lastVoiceAt));
    markTurn(heardAt, latency);
    showLatency(latency);
    latencyFor = null;
  }
  src.start(playAt);
  playAt += audio.duration;
  playedMs += audio.duration * 1000;
  document.body.dataset.agentAudioMs = String(Math.round(playedMs));
  sources.push(src);
  src.onended = () => { sources = sources.filter((s) => s !== src); };
}

function flush() {
  for (const src of sources) { try { src.stop(); } catch (e) { /* already stopped */ } }
  sources = [];
  playAt = ctx ? ctx.currentTime : 0;
}

function onMessage(event) {
  if (typeof event.data !== "string") { play(event.data); return; }
  const m = JSON.parse(event.data);
  switch (m.type) {
    case "ready":
      ready = true;
      sendBacklog(m.limits && m.limits.burst_s ? m.limits.burst_s : 2);
      setState("listening");
      status("Connected: speak now. (session " + m.session_id + ")");
      break;
    case "transcript": transcript(m.role, m.text, m.final); break;
    case "agent_audio_start":
      if (awaitingReply) { awaitingReply = false; measuring = true; }
      setState("speaking");
      break;
    case "agent_audio_end": setState("listening"); break;
    case "interrupted": flush(); markInterrupted(); measuring = false; setState("listening"); break;
    case "handoff": note("A member of staff has been asked to take over."); break;
    case "taken_over": flush(); setState("human"); note("A member of staff has joined the call."); break;
    case "returned": setState("listening"); note("The agent is back."); break;
    case "human_audio_start": setState("human"); break;
    case "ended": note("Call ended: " + m.reason); break;
    case "error": status("Error " + m.code + ": " + m.message, true); break;
  }
}

function connect(agent, key) {
  const base = location.pathname.replace(/\/client\/?$/, "");
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "/" + encodeURIComponent(agent));
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws.send(JSON.stringify({
    type: "start", api_key: key,
    audio: { encoding: "pcm16", sample_rate: RATE, channels: 1 }, output_sample_rate: RATE,
  }));
  ws.onmessage = onMessage;
  ws.onclose = (e) => {
    if (e.code !== 1000) status("Closed " + e.code + ": " + (e.reason || "connection lost"), true);
    else if (!$("status").classList.contains("error")) status("Call ended.");
    stop();
  };
}

async function start(agent, key) {
  setState("connecting");
  status("Connecting…");
  $("start").disabled = true; $("stop").disabled = false;
  $("stop").focus();
  ctx = new AudioContext({ sampleRate: RATE });
  const worklet = ctx.audioWorklet.addModule("client/capture.js");
  stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
  // The socket opens while the worklet loads; what the microphone hears meanwhile waits in `backlog`.
  connect(agent, key);
  await worklet;
  const node = new AudioWorkletNode(ctx, "capture");
  node.port.onmessage = (e) => capture(e.data);
  ctx.createMediaStreamSource(stream).connect(node);
}

function stop() {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "end" }));
  if (stream) stream.getTracks().forEach((t) => t.stop());
  if (ctx) ctx.close();
  ws = null; ctx = null; stream = null; sources = []; pending = new Float32Array(0);
  ready = false; backlog = []; partial = null; awaitingReply = false; measuring = false;
  setState("idle");
  $("start").disabled = false; $("stop").disabled = true;
}

document.addEventListener("DOMContentLoaded", () => {
  // Prefill from the fragment (#agent=...&key=...): a fragment never reaches the server or its logs.
  const params = new URLSearchParams(location.hash.slice(1));
  $("agent").value = params.get("agent") || "";
  $("key").value = params.get("key") || "";
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    start($("agent").value.trim(), $("key").value.trim()).catch((err) => { status("Could not start: " + err.message, true); stop(); });
  });
  $("stop").addEventListener("click", () => { stop(); $("start").focus(); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && ws) { e.preventDefault(); stop(); $("start").focus(); }
  });
});
