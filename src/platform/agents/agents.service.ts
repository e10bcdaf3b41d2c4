import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectTenantScopedRepository, TenantScopedRepository } from '../tenants';
import { Agent } from './agent.entity';
import type { CreateAgentDto } from './agents.dto';

const DEFAULT_MAX_STEPS = 5;
/** Room for a long, complete answer; a tenant that wants shorter (cheaper) calls sets less. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
const LIST_LIMIT = 200;

@Injectable()
export class AgentsService {
  constructor(
    @InjectTenantScopedRepository(Agent) private readonly agents: TenantScopedRepository<Agent>,
  ) {}

  create(tenantId: string, dto: CreateAgentDto): Promise<Agent> {
    return this.agents.insert(tenantId, {
      name: dto.name,
      type: dto.type,
      model: dto.model,
      instructions: dto.instructions ?? '',
      tools: dto.tools ?? [],
      maxSteps: dto.max_steps ?? DEFAULT_MAX_STEPS,
      maxOutputTokens: dto.max_output_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
    });
  }

  list(tenantId: string): Promise<Agent[]> {
    return this.agents.list(tenantId, { order: { createdAt: 'DESC' }, take: LIST_LIMIT });
  }

  /** Another tenant's agent is indistinguishable from a missing one: 404. */
  async get(tenantId: string, id: string): Promise<Agent> {
    const agent = await this.agents.findById(tenantId, id);
    if (!agent) throw new NotFoundException(`Agent ${id} not found`);
    return agent;
  }
}
