export { ToolsModule } from './tools.module';
export { ToolRegistry } from './tool-registry.service';
export { TOOL_NAMES, ToolError } from './tool.types';
export type { AgentTool, ToolContext, ToolExecutionResult, ToolName } from './tool.types';
