import {
  createParamDecorator,
  ExecutionContext,
  InternalServerErrorException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { TenantAuth } from './tenant-auth.types';

/** The caller resolved by TenantAuthGuard; use only on routes behind that guard. */
export const CurrentTenant = createParamDecorator(
  (_data: unknown, context: ExecutionContext): TenantAuth => {
    const auth = context.switchToHttp().getRequest<FastifyRequest>().tenantAuth;
    if (!auth)
      throw new InternalServerErrorException(
        'CurrentTenant used on a route without TenantAuthGuard',
      );
    return auth;
  },
);
