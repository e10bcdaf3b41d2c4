import {
  CanActivate,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { bearerToken, secretsEqual } from './api-key.codec';

/** Tenant administration, guarded by ADMIN_API_KEY (compared in constant time); off when it is unset. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.adminApiKey;
    if (!expected)
      throw new ForbiddenException('The admin API is disabled: set ADMIN_API_KEY to enable it');
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = bearerToken(request.headers.authorization);
    if (!presented || !secretsEqual(presented, expected))
      throw new UnauthorizedException('Invalid admin key');
    return true;
  }
}
