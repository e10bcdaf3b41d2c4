import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'agents' })
export class Agent {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Free-form kind (rag_agent, support_agent...): the agent_type label of the agent metrics. */
  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text' })
  model!: string;

  @Column({ type: 'text' })
  instructions!: string;

  @Column({ type: 'jsonb' })
  tools!: string[];

  @Column({ name: 'max_steps', type: 'integer' })
  maxSteps!: number;

  /** The most completion tokens one model call may take; the budget may cap it lower. */
  @Column({ name: 'max_output_tokens', type: 'integer' })
  maxOutputTokens!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
