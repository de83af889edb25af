import { Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyStore, ROLES, type Role } from '../../auth/api-key-store.js';
import { Roles } from '../../auth/api-key.guard.js';
import { PSEUDONYMOUS_ID, type FieldError } from '../commands/record-events/validation.js';
import { InputRejected } from './http-errors.js';

@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(@Inject(ApiKeyStore) private readonly keys: ApiKeyStore) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create an API key (the key is shown once)' })
  create(@Body() body: unknown) {
    const errors: FieldError[] = [];
    const { name, role, ...rest } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    for (const key of Object.keys(rest)) errors.push({ field: key, reason: 'is not a known field' });
    if (typeof name !== 'string' || !PSEUDONYMOUS_ID.test(name)) errors.push({ field: 'name', reason: 'must be a label of A-Z a-z 0-9 . _ : - (no personal names)' });
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) errors.push({ field: 'role', reason: `must be one of ${ROLES.join(', ')}` });
    if (errors.length > 0) throw new InputRejected(errors);
    const { key, info } = this.keys.create(name as string, role as Role);
    return { ...info, key };
  }

  @Get()
  @Roles('admin')
  list() {
    return this.keys.list();
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  revoke(@Param('id') id: string) {
    if (!this.keys.revoke(id)) throw new NotFoundException(`id: no active API key ${id}`);
  }
}
