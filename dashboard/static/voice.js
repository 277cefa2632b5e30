// Listen / Talk / Type on a voice call's live card, through the voice bridge's listen socket
// (WS /voice/calls/{session}/listen, docs/handoff.md "Voice: listen-in and takeover"). The bridge is
// mounted on this origin by `oratio serve`, so the page's CSP (connect-src 'self') allows it; a standalone
// bridge elsewhere is named by ORATIO_VOICE_PUBLIC_URL (bridgeBase), and the CSP then allows its origin.
//
// Listen: both sides of the call arrive as PCM16 at the bridge's 16 kHz, each binary frame starting
// with its channel (1 customer, 2 agent, 3 human) and a zero byte; each channel is scheduled
// gap-free on its own play head, and the two heads mix in the AudioContext.
// Talk: takes the call over (the same POST as the Take over button) unless it is already, asks the
// bridge to `talk`, then streams the microphone: the AudioContext runs at 16 kHz, so the browser
// downsamples the mic to the bridge's rate, and the worklet's samples go out in 20 ms PCM16 frames.
// Type: takes over the same way and sends `say`; the bridge stores the human turn and speaks it.

import { api, listenToken, report } from "./api.js";
import { el } from "./dom.js";
import { state } from "./state.js";

const RATE = 16000;
const FRAME = 320; // 20 ms at RATE
const CHANNELS = { 1: "customer", 2: "agent", 3: "human" };

export function attachVoice(card, session) {
  if (card.voice || session.channel !== "voice") return;
  const status = el("small", { class: "voice-status", role: "status" });
  const text = el("input", { type: "text", maxlength: "4000", placeholder: "Type to the caller…", "aria-label": "Message to speak to the caller" });
  const voice = { ws: null, ctx: null, mic: null, heads: {}, heard: { customer: 0, agent: 0, human: 0 }, sentMs: 0, pending: new Float32Array(0), takenOver: false };
  card.voice = voice;
  const setStatus = (line) => { status.textContent = line; };
  const listenButton = el("button", { type: "button", class: "ghost", dataset: { voice: "listen" },
    onclick: () => (voice.ws ? stop(card) : listen(card, setStatus).catch((e) => { setStatus(e.message); report(e); })) }, "Listen");
  const talkButton = el("button", { type: "button", class: "ghost", dataset: { voice: "talk" },
    onclick: () => talk(card, setStatus).catch((e) => { setStatus(e.message); report(e); }) }, "Talk");
  const typeForm = el("form", { class: "voice-type", onsubmit: (event) => {
    event.preventDefault();
    const words = text.value.trim();
    if (!words) return;
    sayTo(card, setStatus, words).then(() => { text.value = ""; }).catch((e) => { setStatus(e.message); report(e); });
  } }, text, el("button", { type: "submit", class: "ghost", dataset: { voice: "type" } }, "Type"));
  voice.listenButton = listenButton;
  voice.talkButton = talkButton;
  card.node.insertBefore(el("div", { class: "voice-bar" }, listenButton, talkButton, typeForm, status), card.transcript);
}

// The bridge's base URL: ORATIO_VOICE_PUBLIC_URL (a standalone `serve-door voice`, given to the page in a
// meta tag and allowed by its CSP), else this origin, where `oratio serve` mounts the bridge at /voice.
function bridgeBase() {
  const configured = document.querySelector('meta[name="oratio-voice-url"]')?.content;
  if (configured) return configured;
  return `${location.protocol === "https:" ? "wss://" : "ws://"}${location.host}`;
}

function listen(card, setStatus) {
  const voice = card.voice;
  if (voice.ws) return voice.ready;
  voice.ctx = new AudioContext({ sampleRate: RATE });
  voice.heads = {};
  const ws = new WebSocket(`${bridgeBase()}/voice/calls/${encodeURIComponent(card.id)}/listen`);
  ws.binaryType = "arraybuffer";
  voice.ws = ws;
  voice.listenButton.textContent = "Stop listening";
  setStatus("connecting to the call…");
  voice.ready = new Promise((resolve, reject) => {
    ws.onopen = () => listenToken().then(
      (token) => ws.send(JSON.stringify({ type: "listen", token })),
      (error) => { setStatus(error.message); ws.close(); },
    );
    ws.onmessage = (message) => {
      if (typeof message.data !== "string") { play(card, message.data); return; }
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame.type === "listening") {
        voice.takenOver = frame.taken_over;
        setStatus(frame.taken_over ? "listening · taken over" : "listening");
        resolve();
      } else if (frame.type === "taken_over") { voice.takenOver = true; setStatus("listening · taken over"); }
      else if (frame.type === "returned") { voice.takenOver = false; stopMic(voice); setStatus("listening · returned to the agent"); }
      else if (frame.type === "talking") { voice.onTalking && voice.onTalking(frame); }
      else if (frame.type === "said") { voice.onSaid && voice.onSaid(frame); }
      else if (frame.type === "talk_ended") { stopMic(voice); setStatus(frame.reason); }
      else if (frame.type === "error") {
        setStatus(`${frame.code}: ${frame.message}`);
        if (voice.onError) voice.onError(new Error(frame.message));
      } else if (frame.type === "ended") setStatus(`call ended: ${frame.reason}`);
    };
    ws.onclose = (event) => {
      reject(new Error(event.reason || `closed (${event.code})`));
      if (event.code !== 1000 || !status(card)) setStatus(event.reason ? `${event.code}: ${event.reason}` : "not listening");
      stop(card, false);
    };
  });
  return voice.ready;
}

function status(card) {
  const node = card.node.querySelector(".voice-status");
  return node && node.textContent.startsWith("call ended");
}

// Each channel on its own play head: the caller and the agent may speak at once (barge-in).
function play(card, buffer) {
  const voice = card.voice;
  if (!voice.ctx || buffer.byteLength < 4) return;
  const channel = CHANNELS[new Uint8Array(buffer, 0, 1)[0]];
  if (!channel) return;
  const pcm = new Int16Array(buffer, 2);
  const audio = voice.ctx.createBuffer(1, pcm.length, RATE);
  const data = audio.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 0x8000;
  const source = voice.ctx.createBufferSource();
  source.buffer = audio;
  source.connect(voice.ctx.destination);
  const at = Math.max(voice.heads[channel] || 0, voice.ctx.currentTime);
  source.start(at);
  voice.heads[channel] = at + audio.duration;
  voice.heard[channel] += audio.duration * 1000;
  card.node.dataset[`heard${channel[0].toUpperCase()}${channel.slice(1)}Ms`] = String(Math.round(voice.heard[channel]));
}

// The session must be taken over before the person speaks: the card's own Take over move.
async function ensureTakenOver(card) {
  if (card.voice.takenOver) return;
  try {
    await api(`/api/v1/sessions/${encodeURIComponent(card.id)}/handoff/take-over`, { method: "POST" });
  } catch (error) {
    if (error.status !== 409) throw error; // 409: taken over already (by this admin or another)
  }
}

function reply(voice, kind) {
  return new Promise((resolve, reject) => {
    voice[kind] = (frame) => { voice[kind] = null; voice.onError = null; resolve(frame); };
    voice.onError = (error) => { voice[kind] = null; voice.onError = null; reject(error); };
  });
}

async function sayTo(card, setStatus, words) {
  await listen(card, setStatus);
  await ensureTakenOver(card);
  const voice = card.voice;
  const said = reply(voice, "onSaid");
  voice.ws.send(JSON.stringify({ type: "say", text: words }));
  await said;
  setStatus("listening · taken over · message spoken");
}

async function talk(card, setStatus) {
  const voice = card.voice;
  if (voice.mic) { stopMic(voice); setStatus("listening · taken over"); return; }
  await listen(card, setStatus);
  await ensureTakenOver(card);
  const talking = reply(voice, "onTalking");
  voice.ws.send(JSON.stringify({ type: "talk", sample_rate: RATE }));
  await talking;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
  await voice.ctx.audioWorklet.addModule("/dashboard/capture.js");
  const capture = new AudioWorkletNode(voice.ctx, "capture");
  capture.port.onmessage = (event) => sendMic(card, event.data);
  voice.ctx.createMediaStreamSource(stream).connect(capture);
  voice.mic = { stream, capture };
  voice.talkButton.textContent = "Stop talking";
  setStatus("talking to the caller");
}

// Float32 [-1, 1] at RATE to PCM16 frames of FRAME samples.
function sendMic(card, samples) {
  const voice = card.voice;
  const all = new Float32Array(voice.pending.length + samples.length);
  all.set(voice.pending);
  all.set(samples, voice.pending.length);
  let offset = 0;
  while (all.length - offset >= FRAME) {
    const pcm = new Int16Array(FRAME);
    for (let i = 0; i < FRAME; i++) {
      const s = Math.max(-1, Math.min(1, all[offset + i]));
      pcm[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
    }
    if (voice.ws && voice.ws.readyState === WebSocket.OPEN && voice.mic) {
      voice.ws.send(pcm.buffer);
      voice.sentMs += (FRAME / RATE) * 1000;
      card.node.dataset.talkSentMs = String(Math.round(voice.sentMs));
    }
    offset += FRAME;
  }
  voice.pending = all.slice(offset);
}

function stopMic(voice) {
  if (!voice.mic) return;
  voice.mic.stream.getTracks().forEach((track) => track.stop());
  voice.mic.capture.disconnect();
  voice.mic = null;
  voice.pending = new Float32Array(0);
  voice.talkButton.textContent = "Talk";
}

// The session ended and its card leaves the Live tab: stop listening and talking, close the audio.
export function detachVoice(card) {
  if (card.voice) stop(card);
}

function stop(card, close = true) {
  const voice = card.voice;
  stopMic(voice);
  if (close && voice.ws) voice.ws.close(1000, "stopped listening");
  voice.ws = null;
  if (voice.ctx) voice.ctx.close().catch(() => {});
  voice.ctx = null;
  voice.listenButton.textContent = "Listen";
}
