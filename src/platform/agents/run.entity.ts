import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { RunStatus } from '../../observability/catalog';

/** `running` only while the loop runs; a row left `running` marks a run cut off by a crash. */
export type StoredRunStatus = RunStatus | 'running';

@Entity({ name: 'runs' })
export class Run {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @Column({ name: 'agent_id', type: 'uuid' })
  agentId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  status!: StoredRunStatus;

  @Column({ type: 'text' })
  input!: string;

  @Column({ type: 'text', nullable: true })
  output!: string | null;

  @Column({ type: 'integer' })
  steps!: number;

  @Column({ name: 'prompt_tokens', type: 'integer' })
  promptTokens!: number;

  @Column({ name: 'completion_tokens', type: 'integer' })
  completionTokens!: number;

  @Column({ name: 'total_tokens', type: 'integer' })
  totalTokens!: number;

  @Column({ name: 'usage_estimated', type: 'boolean' })
  usageEstimated!: boolean;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs!: number | null;

  @Column({ name: 'trace_id', type: 'text', nullable: true })
  traceId!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** A short class of why the run ended badly (see RUN_ERROR_TYPES); null when it did not. */
  @Column({ name: 'error_type', type: 'text', nullable: true })
  errorType!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
