import { Followers } from '../../followers/followers.js';
import { FOLLOWERS } from '../../event-store/followers.js';
import { Controller, Get, HttpCode, Inject, NotFoundException, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../auth/api-key.guard.js';
import { EVENT_STORE, type EventStore } from '../../event-store/event-store.port.js';
import { CheckpointSigner } from '../../integrity/checkpoint-signer.js';
import { IntegrityQueryError, MerkleLog } from '../../integrity/merkle-log.js';
import { isUuid } from '../../event-store/sqlite/uuid-bytes.js';
import { InputRejected } from './http-errors.js';

function size(name: string, value: unknown, required: boolean): number | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InputRejected([{ field: name, reason: 'must be a non-negative integer' }]);
  }
  return Number(value);
}

/**
 * Tamper evidence over HTTP: signed checkpoints of the global Merkle log and RFC 6962 proofs
 * in the JSON shape of the conformance vectors, so anyone can verify them offline with
 * `ledger verify-proof` or any RFC 6962 verifier and the public key.
 */
@ApiTags('integrity')
@Controller('v1/integrity')
export class IntegrityController {
  constructor(
    @Inject(MerkleLog) private readonly log: MerkleLog,
    @Inject(CheckpointSigner) private readonly signer: CheckpointSigner,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Followers) private readonly feed: Followers,
  ) {}

  @Get('public-key')
  @ApiOperation({ summary: 'The Ed25519 public key that signs checkpoints (public)' })
  publicKey() {
    return { algorithm: 'Ed25519', keyId: this.signer.keyId, publicKeyPem: this.signer.publicKeyPem() };
  }

  @Get('checkpoint')
  @Roles('auditor', 'emitter')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The latest signed checkpoint {treeSize, rootHash, timestamp, keyId, signature}' })
  async checkpoint() {
    const latest = this.log.latestCheckpoint() ?? (await this.feed.checkpoint());
    if (!latest) throw new NotFoundException('the log is empty: no checkpoint yet');
    return latest;
  }

  @Post('checkpoints')
  @Roles('admin')
  @ApiBearerAuth()
  @HttpCode(201)
  @ApiOperation({ summary: 'Make a checkpoint now (after the log is fully integrated), proven consistent with the previous one' })
  async makeCheckpoint() {
    await this.feed.caughtUpToHead([FOLLOWERS.merkleLog]);
    const signed = await this.feed.checkpoint();
    if (!signed) throw new NotFoundException('the log is empty: no checkpoint yet');
    return signed;
  }

  @Get('proofs/inclusion')
  @Roles('auditor', 'emitter')
  @ApiBearerAuth()
  @ApiQuery({ name: 'eventId', required: true })
  @ApiQuery({ name: 'treeSize', required: false, description: 'default: the latest checkpoint that includes the event' })
  @ApiOperation({ summary: 'RFC 6962 inclusion proof {leafIdx, treeSize, root, leafHash, proof[]} (base64)' })
  async inclusion(@Query('eventId') eventId: unknown, @Query('treeSize') treeSizeText: unknown) {
    if (typeof eventId !== 'string' || !isUuid(eventId)) throw new InputRejected([{ field: 'eventId', reason: 'must be a UUID' }]);
    const treeSize = size('treeSize', treeSizeText, false);
    const event = await this.store.findByEventId(eventId.toLowerCase());
    if (!event) throw new NotFoundException(`eventId: no event ${eventId} in the log`);
    await this.feed.caughtUp(Math.max(event.globalPosition + 1, Math.min(treeSize ?? 0, await this.store.headPosition())), [FOLLOWERS.merkleLog]);
    let size_ = treeSize;
    if (size_ === undefined) {
      const latest = this.log.latestCheckpoint();
      size_ = latest && latest.treeSize > event.globalPosition ? latest.treeSize : (await this.feed.checkpoint())!.treeSize;
    }
    return this.translate(() => this.log.inclusionProof(event, size_));
  }

  @Get('proofs/consistency')
  @Roles('auditor', 'emitter')
  @ApiBearerAuth()
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: true })
  @ApiOperation({ summary: 'RFC 6962 consistency proof {size1, size2, root1, root2, proof[]} (base64)' })
  async consistency(@Query('from') from: unknown, @Query('to') to: unknown) {
    const size1 = size('from', from, true)!;
    const size2 = size('to', to, true)!;
    // A tree size the log has acknowledged is served once the Merkle log has integrated it.
    await this.feed.caughtUp(Math.min(size2, await this.store.headPosition()), [FOLLOWERS.merkleLog]);
    return this.translate(() => this.log.consistencyProof(size1, size2));
  }

  private async translate<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof IntegrityQueryError) throw new InputRejected([{ field: error.field, reason: error.message }]);
      throw error;
    }
  }
}
