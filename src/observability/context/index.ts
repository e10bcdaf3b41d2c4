export {
  abandonedSignal,
  acceptRequestId,
  bindAgentContext,
  ClientClosedError,
  bindTenantContext,
  bindUserContext,
  currentRequestContext,
  generateRequestId,
  newRequestContext,
  runWithRequestContext,
} from './request-context';
export type { RequestContext, ServerSpanState } from './request-context';
export { sampledSpanContext, sampledTraceId } from './trace-context';
export {
  addAfterBodyHook,
  REQUEST_CONTEXT_PLUGIN,
  requestContextPlugin,
} from './request-context.plugin';
