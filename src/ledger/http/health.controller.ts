import { Controller, Get, HttpException, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { EVENT_STORE, type EventStore } from '../../event-store/event-store.port.js';
import { FOLLOWERS } from '../../event-store/followers.js';
import { Followers } from '../../followers/followers.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Followers) private readonly feed: Followers,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /**
   * Ready when the log answers and every follower is following. Reports each follower's lag
   * and the events quarantined from it: 'degraded' (still 200) while any event is quarantined,
   * 503 while a follower is stopped (it is retried from its checkpoint).
   */
  @Get('ready')
  async ready() {
    let head: number;
    try {
      head = await this.store.headPosition();
    } catch {
      throw new HttpException({ statusCode: 503, error: 'Service Unavailable', message: 'the event store does not answer' }, 503);
    }
    const followers = this.feed.status().map((f) => ({ name: f.name, state: f.state, position: f.position, lag: head - f.position, quarantined: f.quarantined, error: f.error }));
    const quarantined = this.feed.quarantined().map((q) => ({ follower: q.consumer, globalPosition: q.globalPosition, eventId: q.eventId, type: q.type, error: q.error, at: q.at }));
    const stopped = followers.filter((f) => f.state === 'stopped');
    const readModels = followers.find((f) => f.name === FOLLOWERS.readModels);
    const body = {
      status: stopped.length > 0 ? 'unavailable' : quarantined.length > 0 ? 'degraded' : 'ok',
      logHead: head,
      readModelsAt: readModels?.position ?? head,
      lag: readModels ? head - readModels.position : 0,
      followersRunIn: this.feed.mode,
      followers,
      quarantined,
    };
    if (stopped.length > 0) {
      throw new HttpException({ statusCode: 503, error: 'Service Unavailable', message: `stopped: ${stopped.map((f) => f.name).join(', ')}`, ...body }, 503);
    }
    return body;
  }
}
