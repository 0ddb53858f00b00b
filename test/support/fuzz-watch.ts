// Watches a running Herald during a fuzz run: a /healthz probe every ~50 ms
// (timed; a slow probe means some request blocked the server) and the process's
// resident memory read from /proc/PID/status. The fuzzer asks it what happened
// while each request was in flight.
import { readFileSync } from "node:fs";

export interface Slow {
  /** When the probe was sent (performance.now()). */
  at: number;
  ms: number;
}

export class HeraldWatch {
  /** Probes that answered late (or not at all) since the last `take()`. */
  private slow: Slow[] = [];
  private peakRss = 0;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private loop: Promise<void> | null = null;
  private rssTimer: ReturnType<typeof setInterval> | null = null;
  maxProbeMs = 0;
  probes = 0;
  /** Peak RSS over the whole run, in bytes. */
  overallPeakRss = 0;

  constructor(
    private readonly url: string,
    private readonly pid: number,
    private readonly limits: { probe_ms: number; interval_ms: number; kill_rss: number; onKill: (rss: number) => void },
  ) {}

  start(): void {
    this.running = true;
    // Memory is sampled on its own timer: during a stall the probe itself waits.
    this.rssTimer = setInterval(() => this.sampleRss(), this.limits.interval_ms);
    this.loop = (async () => {
      while (this.running) {
        this.inFlight = this.probe();
        await this.inFlight;
        await Bun.sleep(this.limits.interval_ms);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.rssTimer) clearInterval(this.rssTimer);
    await this.loop;
  }

  /** Waits for the probe in flight, then hands over (and forgets) what was seen since the last call. */
  async take(): Promise<{ slow: Slow[]; peakRss: number }> {
    await this.inFlight;
    this.sampleRss();
    const seen = { slow: this.slow, peakRss: this.peakRss };
    this.slow = [];
    this.peakRss = 0;
    return seen;
  }

  /** True once a probe answers within the limit again (after a stall), false if `deadline` passes first. */
  async recovered(deadline: number): Promise<boolean> {
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        const res = await fetch(this.url + "/healthz", { signal: AbortSignal.timeout(Math.max(1, deadline - started)) });
        await res.arrayBuffer();
        if (performance.now() - started <= this.limits.probe_ms) return true;
      } catch {
        if (!this.alive()) return false;
      }
      await Bun.sleep(50);
    }
    return false;
  }

  alive(): boolean {
    try {
      readFileSync(`/proc/${this.pid}/status`);
      return true;
    } catch {
      return false;
    }
  }

  private async probe(): Promise<void> {
    const at = performance.now();
    this.sampleRss();
    // A probe gives up after 10 s so a frozen server still yields a (very) slow sample.
    try {
      const res = await fetch(this.url + "/healthz", { signal: AbortSignal.timeout(10_000), keepalive: false });
      await res.arrayBuffer();
    } catch {}
    const ms = performance.now() - at;
    this.probes++;
    this.maxProbeMs = Math.max(this.maxProbeMs, ms);
    if (ms > this.limits.probe_ms) this.slow.push({ at, ms });
    this.sampleRss();
  }

  private sampleRss(): void {
    const rss = rssOf(this.pid);
    this.peakRss = Math.max(this.peakRss, rss);
    this.overallPeakRss = Math.max(this.overallPeakRss, rss);
    // Past this the machine (shared with other work) is at risk: stop Herald rather than let it grow.
    if (rss > this.limits.kill_rss) this.limits.onKill(rss);
  }
}

/** VmRSS of a process in bytes, 0 if it is gone. */
export function rssOf(pid: number): number {
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
