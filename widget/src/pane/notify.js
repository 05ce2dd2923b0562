// @ts-check
// How the pane gets an agent's attention without a mouse or screen in view: a short beep made
// with WebAudio (no sound file), a notice in the title bar, and one polite live region for
// screen readers. Nothing here is noisy: the beep only for new chats, the live region only for
// what an agent needs to hear.

const SOUND_KEY = "chatsvc:pane:sound";

export class Notifier {
  constructor(baseTitle) {
    this.baseTitle = baseTitle;
    this.pending = 0; // new chats not yet seen
    this.audio = null;
    this.soundOn = readSound();
    this.region = document.createElement("div");
    this.region.className = "sr-only";
    this.region.setAttribute("aria-live", "polite");
    this.region.setAttribute("aria-atomic", "true");
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    const seen = () => this.clearTitle();
    window.addEventListener("focus", seen);
    // Browsers start audio only after a gesture: get the context ready on the first one.
    const unlock = () => {
      seen();
      const context = this._context();
      if (context && context.state === "suspended") context.resume().catch(() => {});
    };
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true);
  }

  /** Say `text` once through the polite live region. */
  announce(text) {
    clearTimeout(this.timer);
    this.region.textContent = "";
    // Emptied first and refilled a moment later, so the same text is announced again.
    this.timer = setTimeout(() => {
      this.region.textContent = text;
    }, 60);
  }

  /** A new chat: count it in the title until the pane is looked at, and beep. */
  newChat(name) {
    this.pending += 1;
    document.title = `(${this.pending}) New chat – ${name} | ${this.baseTitle}`;
    this.beep();
  }

  clearTitle() {
    if (!this.pending) return;
    this.pending = 0;
    document.title = this.baseTitle;
  }

  setSound(on) {
    this.soundOn = on;
    try {
      localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch {
      // Private mode: the choice lasts as long as the page.
    }
  }

  beep() {
    if (!this.soundOn) return;
    const context = this._context();
    if (!context) return;
    if (context.state === "running") this._play(context);
    else context.resume().then(() => context.state === "running" && this._play(context), () => {});
  }

  _play(context) {
    const start = context.currentTime + 0.01;
    const gain = context.createGain();
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.4);
    gain.connect(context.destination);
    for (const [frequency, offset] of [
      [880, 0],
      [1175, 0.16],
    ]) {
      const tone = context.createOscillator();
      tone.type = "sine";
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(start + offset);
      tone.stop(start + offset + 0.2);
    }
  }

  _context() {
    // Safari before 14.1 has it under its old name only.
    const AudioContext = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
    if (!AudioContext) return null;
    if (!this.audio) {
      try {
        this.audio = new AudioContext();
      } catch {
        return null;
      }
    }
    return this.audio;
  }
}

function readSound() {
  try {
    return localStorage.getItem(SOUND_KEY) !== "off";
  } catch {
    return true;
  }
}
