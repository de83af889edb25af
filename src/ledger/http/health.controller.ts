import { Controller, Get, HttpException, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { EVENT_STORE, type EventStore } from '../../event-store/event-store.port.js';
import { ProjectionRunner } from '../../read-models/projection-runner.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready when the log answers; reports how far the read models lag behind it. */
  @Get('ready')
  async ready() {
    try {
      const head = await this.store.headPosition();
      const projected = this.readModels.position();
      return { status: 'ok', logHead: head, readModelsAt: projected, lag: head - projected };
    } catch {
      throw new HttpException({ statusCode: 503, error: 'Service Unavailable', message: 'the event store does not answer' }, 503);
    }
  }
}
