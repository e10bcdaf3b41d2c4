import { Module } from '@nestjs/common';
import { LlmClient } from './llm-client.service';

/** The LLM proxy adapter. MetricsService and APP_CONFIG come from global modules. */
@Module({ providers: [LlmClient], exports: [LlmClient] })
export class LlmModule {}
