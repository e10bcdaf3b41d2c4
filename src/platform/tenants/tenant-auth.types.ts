/** Who is calling: resolved from the API key, never from a client header. */
export interface TenantAuth {
  tenantId: string;
  userId: string;
  limits: { daily: number; monthly: number };
}

declare module 'fastify' {
  interface FastifyRequest {
    tenantAuth?: TenantAuth;
  }
}
