import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { callerActor, Roles, type AuthenticatedRequest } from '../../auth/api-key.guard.js';
import { AUDIT_PURPOSE_KEY } from '../../vocabulary/vocabulary.js';
import { isPseudonymousId } from '../commands/record-events/validation.js';
import { GetAccessPackageQuery, GetPersonalValuesQuery } from '../queries/subject-data/subject-data.queries.js';
import { portabilityCsv, portabilityExport } from '../queries/subject-data/portability.js';
import { recordRead } from './audited-read.js';
import { InputRejected } from './http-errors.js';
import { CLOCK, type Clock } from '../../clock.js';

const RIGHTS_PURPOSE = 'essential.legal_obligation.data_subject_request';

function subjectIdOf(value: string): string {
  if (!isPseudonymousId(value)) throw new InputRejected([{ field: 'subjectId', reason: 'must be a pseudonymous id' }]);
  return value;
}

/**
 * What a data subject is entitled to receive, and the decrypted personal values behind it.
 * Only the `dpo` role (and admin) may read these; every read is itself recorded.
 */
@ApiTags('subject rights')
@ApiBearerAuth()
@Controller('v1/subjects')
export class SubjectRightsController {
  constructor(
    private readonly queries: QueryBus,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get(':subjectId/personal-values')
  @Roles('dpo')
  @ApiOperation({ summary: "Decrypted personal values of the subject's events ('erased' after shredding); the read is recorded" })
  @ApiQuery({ name: 'ticketRef', required: false })
  async personalValues(@Param('subjectId') id: string, @Query('ticketRef') ticketRef: unknown, @Req() req: AuthenticatedRequest) {
    const subjectId = subjectIdOf(id);
    if (ticketRef !== undefined && !isPseudonymousId(ticketRef)) throw new InputRejected([{ field: 'ticketRef', reason: 'must be a pseudonymous reference' }]);
    const entries = await this.queries.execute(new GetPersonalValuesQuery(subjectId));
    await recordRead(this.commands, {
      subjectId,
      actor: callerActor(req.caller!),
      categories: entries.flatMap((e) => e.categories),
      purpose: AUDIT_PURPOSE_KEY,
      reasonCode: 'audit',
      justification: 'personal values decrypted through the ledger API',
      at: this.clock(),
      ...(typeof ticketRef === 'string' ? { ticketRef } : {}),
    });
    return { subjectId, entries };
  }

  @Get(':subjectId/access-package')
  @Roles('dpo')
  @ApiOperation({ summary: 'Art. 15 access package: purposes, categories, recipients and safeguards, retention, sources, automated decisions, rights' })
  async accessPackage(@Param('subjectId') id: string, @Req() req: AuthenticatedRequest) {
    const subjectId = subjectIdOf(id);
    const pack = await this.queries.execute(new GetAccessPackageQuery(subjectId));
    await recordRead(this.commands, {
      subjectId,
      actor: callerActor(req.caller!),
      categories: pack.categories.map((c) => c.category),
      purpose: RIGHTS_PURPOSE,
      reasonCode: 'subject_request_fulfilment',
      justification: 'Art. 15 access package compiled',
      at: this.clock(),
    });
    return pack;
  }

  @Get(':subjectId/export')
  @Roles('dpo')
  @ApiOperation({ summary: 'Art. 20 portability export of the data the subject provided, as JSON or CSV' })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'csv'] })
  async export(@Param('subjectId') id: string, @Query('format') format: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const subjectId = subjectIdOf(id);
    if (format !== undefined && format !== 'json' && format !== 'csv') throw new InputRejected([{ field: 'format', reason: "must be 'json' or 'csv'" }]);
    const data = portabilityExport(subjectId, await this.queries.execute(new GetPersonalValuesQuery(subjectId, ['PersonalDataCollected'], ['data_subject'])));
    await recordRead(this.commands, {
      subjectId,
      actor: callerActor(req.caller!),
      categories: data.records.flatMap((r) => r.categories),
      purpose: RIGHTS_PURPOSE,
      reasonCode: 'subject_request_fulfilment',
      justification: 'Art. 20 portability export',
      at: this.clock(),
    });
    if (format === 'csv') {
      void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${subjectId}-export.csv"`);
      return portabilityCsv(data);
    }
    return data;
  }
}
