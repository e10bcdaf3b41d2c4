import { Module } from '@nestjs/common';
import { KnowledgeModule } from '../knowledge';
import { CalculatorTool } from './calculator/calculator.tool';
import { CurrentTimeTool } from './current-time/current-time.tool';
import { KbSearchTool } from './kb-search/kb-search.tool';
import { ToolRegistry } from './tool-registry.service';

/** The agent tools; only the registry leaves the module. */
@Module({
  imports: [KnowledgeModule],
  providers: [CalculatorTool, CurrentTimeTool, KbSearchTool, ToolRegistry],
  exports: [ToolRegistry],
})
export class ToolsModule {}
