// The page's capture worklet (voice_bridge/static/client.js): posts each render quantum of the microphone.
// A file of its own, not a blob: URL, so the page's Content-Security-Policy allows only its own scripts.
registerProcessor("capture", class extends AudioWorkletProcessor {
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) this.port.postMessage(ch.slice(0));
    return true;
  }
});
