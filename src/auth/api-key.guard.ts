import { ForbiddenException, Inject, Injectable, SetMetadata, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { ActorRef } from '../ledger/domain/events.js';
import { ApiKeyStore, type ApiKeyInfo, type Role } from './api-key-store.js';

const ROLES_KEY = 'ledger:roles';

/** The roles allowed on a route; `admin` is always allowed. Routes without it are public. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** Whether a key of `role` may use a route open to `allowed`: admin ⊇ every role, dpo ⊇ auditor. */
export function roleAllows(role: Role, allowed: readonly Role[]): boolean {
  if (role === 'admin' || allowed.includes(role)) return true;
  return role === 'dpo' && allowed.includes('auditor');
}

export interface AuthenticatedRequest extends FastifyRequest {
  caller?: ApiKeyInfo;
}

/** The caller as an actor of the ledger: reads by a key holder are recorded under this actor. */
export function callerActor(caller: ApiKeyInfo): ActorRef {
  const kind = caller.role === 'emitter' ? 'service' : caller.role === 'dpo' ? 'dpo' : 'auditor';
  return { id: `key-${caller.id}`, kind, system: 'privacy-ledger' };
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** The roles of each route (controller class, handler), read from metadata once; null: public. */
  private readonly routeRoles = new WeakMap<object, WeakMap<object, readonly Role[] | null>>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(ApiKeyStore) private readonly keys: ApiKeyStore,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.rolesOf(context);
    if (!roles) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const presented = bearer(request.headers['authorization']) ?? header(request.headers['x-api-key']);
    if (!presented) throw new UnauthorizedException('an API key is required (Authorization: Bearer <key> or X-API-Key)');
    const caller = this.keys.authenticate(presented);
    if (!caller) throw new UnauthorizedException('the API key is not valid');
    if (!roleAllows(caller.role, roles)) {
      throw new ForbiddenException(`this operation needs the role ${roles.join(' or ')}; the key has the role ${caller.role}`);
    }
    request.caller = caller;
    return true;
  }

  private rolesOf(context: ExecutionContext): readonly Role[] | null {
    const cls = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.routeRoles.get(cls);
    if (!byHandler) this.routeRoles.set(cls, (byHandler = new WeakMap()));
    let roles = byHandler.get(handler);
    if (roles === undefined) {
      roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [handler, cls]) ?? null;
      byHandler.set(handler, roles);
    }
    return roles;
  }
}

function bearer(value: string | string[] | undefined): string | null {
  const v = header(value);
  return v && /^Bearer\s+/i.test(v) ? v.replace(/^Bearer\s+/i, '').trim() : null;
}

function header(value: string | string[] | undefined): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}
