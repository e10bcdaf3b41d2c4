export {
  acceptRequestId,
  bindAgentContext,
  bindTenantContext,
  bindUserContext,
  currentRequestContext,
  generateRequestId,
  newRequestContext,
  runWithRequestContext,
} from './request-context';
export type { RequestContext } from './request-context';
export { registerRequestContext } from './request-context.hooks';
