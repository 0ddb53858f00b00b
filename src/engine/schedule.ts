// A maintenance job on a croner schedule (the sweep, retention). `protect`
// skips a tick while the previous run is still going, so runs never overlap.
import { Cron } from "croner";

export class Schedule {
  private cron: Cron | null = null;

  constructor(
    private readonly pattern: string,
    private readonly run: () => void,
  ) {}

  start(): void {
    this.cron ??= new Cron(this.pattern, { protect: true }, () => {
      this.run();
    });
  }

  stop(): void {
    this.cron?.stop();
    this.cron = null;
  }
}
