import { Body, Controller, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { abandonedSignal } from '../../observability/context';
import { CurrentTenant, TenantAuthGuard } from '../tenants';
import type { TenantAuth } from '../tenants';
import { agentView } from './agent.views';
import { CreateAgentDto, CreateRunDto } from './agents.dto';
import { AgentsService } from './agents.service';
import { RunsService } from './runs.service';

@Controller('v1')
@UseGuards(TenantAuthGuard)
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly runs: RunsService,
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

  @Post('agents/:id/runs')
  @HttpCode(201)
  run(
    @CurrentTenant() auth: TenantAuth,
    @Param('id') id: string,
    @Body() body: CreateRunDto,
    @Req() request: FastifyRequest,
  ) {
    // A client that leaves stops its run: nobody would read the answer, and it would keep spending.
    const ctx = request.requestContext;
    return this.runs.start(auth, id, body.input, ctx && abandonedSignal(ctx));
  }

  @Get('runs/:id')
  getRun(@CurrentTenant() auth: TenantAuth, @Param('id') id: string) {
    return this.runs.get(auth.tenantId, id);
  }
}
