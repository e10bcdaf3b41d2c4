import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { abandonedSignal } from '../../observability/context';
import { CurrentTenant, TenantAuthGuard } from '../tenants';
import type { TenantAuth } from '../tenants';
import { agentView } from './agent.views';
import { CreateAgentDto, CreateRunDto } from './agents.dto';
import { AgentsService } from './agents.service';
import { RUN_STREAM_HEADERS, RunEventStream } from './run-event-stream';
import { RunsService } from './runs.service';

@Controller('v1')
@UseGuards(TenantAuthGuard)
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly runs: RunsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('agents')
  @HttpCode(201)
  async create(@CurrentTenant() auth: TenantAuth, @Body() body: CreateAgentDto) {
    return agentView(await this.agents.create(auth.tenantId, body));
  }

  @Get('agents')
  async list(@CurrentTenant() auth: TenantAuth) {
    return (await this.agents.list(auth.tenantId)).map(agentView);
  }

  @Get('agents/:id')
  async get(@CurrentTenant() auth: TenantAuth, @Param('id') id: string) {
    return agentView(await this.agents.get(auth.tenantId, id));
  }

  /**
   * Three answers to one request, chosen by the body: the finished run (201),
   * a stream of its events (200, text/event-stream: `"stream": true` or that
   * Accept), or the running run at once (202 and its Location: `"background":
   * true`). The reply is sent here, since its status and shape depend on the
   * choice; a refusal before the run exists goes to the exception filter as
   * an ordinary JSON answer in every case.
   */
  @Post('agents/:id/runs')
  async run(
    @CurrentTenant() auth: TenantAuth,
    @Param('id') id: string,
    @Body() body: CreateRunDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (body.background && body.stream) {
      throw new BadRequestException('stream and background cannot both be true');
    }
    if (body.background) {
      const run = await this.runs.startInBackground(auth, id, body.input);
      void reply.code(202).header('location', `/v1/runs/${run.id}`).send(run);
      return;
    }
    // A client that leaves stops its run: nobody would read the answer, and it would keep spending.
    const ctx = request.requestContext;
    const gone = ctx && abandonedSignal(ctx);
    if (body.stream ?? acceptsEventStream(request.headers.accept)) {
      const admitted = await this.runs.admit(auth, id, body.input, gone);
      const events = new RunEventStream({
        captureContent: this.config.telemetry.captureMessageContent,
      });
      // Sent through Fastify, so the access line and the HTTP metrics come when the stream ends.
      void reply
        .code(200)
        .headers({ ...RUN_STREAM_HEADERS, location: `/v1/runs/${admitted.view.id}` })
        .send(events.body);
      await this.runs.stream(admitted, events, gone);
      return;
    }
    const run = await this.runs.start(auth, id, body.input, gone);
    void reply.code(201).send(run);
  }

  @Get('runs/:id')
  getRun(@CurrentTenant() auth: TenantAuth, @Param('id') id: string) {
    return this.runs.get(auth.tenantId, id);
  }

  /**
   * 200 with the cancelled run once it has stopped; 202 with the run as it
   * stands when it did not stop within a few seconds (its replica may be
   * gone: the sweeper ends it); 409 once it has ended; 404 for another
   * tenant's or an unknown run.
   */
  @Post('runs/:id/cancel')
  async cancelRun(
    @CurrentTenant() auth: TenantAuth,
    @Param('id') id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.runs.cancel(auth.tenantId, id);
    void reply.code(outcome.confirmed ? 200 : 202).send(outcome.run);
  }
}

/** True when the Accept header lists text/event-stream (with a q above 0). */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((entry) => {
    const [type, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'text/event-stream') return false;
    const q = params.find((param) => param.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
