// A maintenance job on a croner schedule (the sweep, retention). `protect`
// skips a tick while the previous run is still going, so runs never overlap.
import { Cron } from "croner";

export class Schedule {
  private cron: Cron | null = null;

  constructor(
    private readonly pattern: string,
    private readonly run: () => Promise<unknown>,
  ) {}

  start(): void {
    // The run's promise is handed to croner, whose `protect` waits for it to settle.
    this.cron ??= new Cron(this.pattern, { protect: true }, async () => {
      await this.run();
    });
  }

  stop(): void {
    this.cron?.stop();
    this.cron = null;
  }
}
