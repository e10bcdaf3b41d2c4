import { Module } from '@nestjs/common';
import { ManagementServer } from './management.server';

/**
 * The MANAGEMENT_PORT listener, which serves what two pillars own: the
 * health reports (HealthModule) and /metrics (MetricsModule, global).
 */
@Module({ providers: [ManagementServer], exports: [ManagementServer] })
export class ManagementModule {}
