import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HealthService } from './health.service';
import type { HealthReport } from './health.types';

/** 200 for healthy and degraded (still serving), 503 for unhealthy. */
export function httpStatusOf(report: HealthReport): 200 | 503 {
  return report.status === 'unhealthy' ? 503 : 200;
}

function answer(reply: FastifyReply, report: HealthReport): HealthReport {
  // A cached probe answer would hide the state it exists to report.
  void reply.status(httpStatusOf(report)).header('cache-control', 'no-store');
  return report;
}

/** The Kubernetes probes: served on the API port always, and on MANAGEMENT_PORT when set. */
@Controller('health')
export class ProbesController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  live(@Res({ passthrough: true }) reply: FastifyReply): HealthReport {
    return answer(reply, this.health.liveness());
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    return answer(reply, await this.health.readiness());
  }
}

/** The detailed report: on the API port only when no MANAGEMENT_PORT is set. */
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  async details(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    return answer(reply, await this.health.details());
  }
}
