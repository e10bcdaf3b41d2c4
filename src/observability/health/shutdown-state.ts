import { Injectable } from '@nestjs/common';

/**
 * Whether the process is draining before shutdown. Readiness answers 503 from
 * the moment a termination signal arrives, so Kubernetes takes the pod out of
 * its Service while the listener still serves in-flight and late requests.
 */
@Injectable()
export class ShutdownState {
  private drainingSince: Date | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(): void {
    this.drainingSince ??= new Date();
  }
}
