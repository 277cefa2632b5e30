// The microphone capture worklet for a voice call's Talk button (voice.js): it posts each render
// quantum of the first input channel to the page, which frames it as PCM16 for the voice bridge.
// A module file of its own because the page's CSP allows scripts from this origin only (no blob:).
registerProcessor("capture", class extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
});
