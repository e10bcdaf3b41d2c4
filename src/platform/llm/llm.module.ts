import { Module } from '@nestjs/common';
import { LlmClient } from './llm-client.service';

/** The LLM proxy adapter. APP_CONFIG and the observers come from global modules. */
@Module({ providers: [LlmClient], exports: [LlmClient] })
export class LlmModule {}
