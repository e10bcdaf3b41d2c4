import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bindTenantContext, bindUserContext } from '../../observability/context';
import { bearerToken } from './api-key.codec';
import { TenantsService } from './tenants.service';

/**
 * Resolves `Authorization: Bearer <key>` to a tenant and user and binds them
 * to the request context, so every later log line, span and metric of the
 * request knows them. The tenant never comes from a client-supplied header.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(private readonly tenants: TenantsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = bearerToken(request.headers.authorization);
    if (!key) throw new UnauthorizedException('Missing API key: send Authorization: Bearer <key>');
    const auth = await this.tenants.authenticate(key);
    if (!auth) throw new UnauthorizedException('Invalid API key');
    request.tenantAuth = auth;
    bindTenantContext(auth.tenantId);
    bindUserContext(auth.userId);
    return true;
  }
}
