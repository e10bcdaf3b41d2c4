import { Controller, Get, Inject, Req, Res, UnauthorizedException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { METRICS_REGISTRY } from './metric-providers';
import { scrapeMetricsRegistry } from './metrics-exposition';

/**
 * GET /metrics (the path is set by PrometheusModule.register): Prometheus
 * text, or OpenMetrics with exemplars when the scraper's Accept asks for it;
 * a bearer token when METRICS_TOKEN is set.
 */
@Controller()
export class MetricsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
  ) {}

  @Get()
  async index(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const scrape = await scrapeMetricsRegistry(
      this.registry,
      { authorization: request.headers.authorization, accept: request.headers.accept },
      this.config.metrics.token,
    );
    if (scrape.status === 401) {
      throw new UnauthorizedException({
        message: scrape.message,
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      });
    }
    void reply.header('Content-Type', scrape.contentType).header('Cache-Control', 'no-store');
    return scrape.body;
  }
}
